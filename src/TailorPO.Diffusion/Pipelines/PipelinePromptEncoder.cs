using TailorPO.Core.Abstractions;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>
/// The <see cref="IPromptEncoder"/> of a <see cref="StableDiffusionPipeline"/>: its tokenizer and text encoder, the
/// empty prompt as the unconditional input, and the guidance scale the caller (a trainer) passes.
/// </summary>
public sealed class PipelinePromptEncoder(StableDiffusionPipeline pipeline) : IPromptEncoder
{
    private readonly StableDiffusionPipeline _pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));

    /// <inheritdoc />
    public DiffusionCondition Encode(IReadOnlyList<string> prompts, double guidanceScale) =>
        _pipeline.EncodePrompts(prompts, negativePrompts: null, guidanceScale: guidanceScale);
}
