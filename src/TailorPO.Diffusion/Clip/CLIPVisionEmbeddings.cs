using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// Patch embedding (a bias-free Conv2d with stride = kernel = patch size), a learned class token
/// prepended, and a learned position embedding per token (<c>embeddings.class_embedding</c>,
/// <c>embeddings.patch_embedding</c>, <c>embeddings.position_embedding</c>).
/// </summary>
internal sealed class CLIPVisionEmbeddings : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Parameter class_embedding;
    private readonly Conv2dLayer patch_embedding;
    private readonly Embedding position_embedding;
#pragma warning restore IDE1006

    public CLIPVisionEmbeddings(CLIPVisionConfig config) : base(nameof(CLIPVisionEmbeddings))
    {
        class_embedding = SkipInitScope.Current is { } scope ? scope.Empty(config.HiddenSize) : new Parameter(randn(config.HiddenSize));
        patch_embedding = new Conv2dLayer(config.NumChannels, config.HiddenSize, kernelSize: config.PatchSize,
            stride: config.PatchSize, hasBias: false);
        position_embedding = Layers.Embedding(config.NumPositions, config.HiddenSize);
        RegisterComponents();
    }

    /// <param name="pixelValues">[B, C, H, W] already validated and in the weights' dtype.</param>
    public override Tensor forward(Tensor pixelValues)
    {
        long batch = pixelValues.shape[0];
        using var patches = patch_embedding.forward(pixelValues);
        using var tokens = patches.flatten(2).transpose(1, 2);
        using var classToken = class_embedding.view(1, 1, -1).expand(batch, 1, -1);
        using var sequence = cat([classToken, tokens], 1);
        return sequence + position_embedding.weight!;
    }
}
