using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>What the vision tower computes for a batch of images. Disposing it disposes every tensor.</summary>
public sealed class CLIPVisionModelOutput : IDisposable
{
    internal CLIPVisionModelOutput(Tensor imageEmbeds, Tensor lastHiddenState, Tensor pooledOutput, IReadOnlyList<Tensor> hiddenStates)
    {
        ImageEmbeds = imageEmbeds;
        LastHiddenState = lastHiddenState;
        PooledOutput = pooledOutput;
        HiddenStates = hiddenStates;
    }

    /// <summary>
    /// <c>visual_projection(post_layernorm(LastHiddenState[:, 0]))</c>, [B, projection_dim]: the
    /// image features CLIP-based rewards (aesthetic, CLIP score) read. Not normalised.
    /// </summary>
    public Tensor ImageEmbeds { get; }

    /// <summary>The encoder's last output, [B, 1 + patches, C] (no final norm; class token first).</summary>
    public Tensor LastHiddenState { get; }

    /// <summary><c>post_layernorm</c> of the class token, [B, C].</summary>
    public Tensor PooledOutput { get; }

    /// <summary>
    /// When requested: the encoder input (after <c>pre_layrnorm</c>), then each layer's output;
    /// otherwise empty.
    /// </summary>
    public IReadOnlyList<Tensor> HiddenStates { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        ImageEmbeds.Dispose();
        LastHiddenState.Dispose();
        PooledOutput.Dispose();
        foreach (var state in HiddenStates) state.Dispose();
    }
}
