using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>What the text tower computes for a batch of token ids. Disposing it disposes every tensor.</summary>
public sealed class CLIPTextModelOutput : IDisposable
{
    internal CLIPTextModelOutput(Tensor lastHiddenState, Tensor poolerOutput, Tensor? textEmbeds, IReadOnlyList<Tensor> hiddenStates)
    {
        LastHiddenState = lastHiddenState;
        PoolerOutput = poolerOutput;
        TextEmbeds = textEmbeds;
        HiddenStates = hiddenStates;
    }

    /// <summary>
    /// <c>final_layer_norm</c> of the last layer's output, [B, S, C]: what SD's UNet receives as
    /// <c>encoder_hidden_states</c>.
    /// </summary>
    public Tensor LastHiddenState { get; }

    /// <summary>The last hidden state at each row's end-of-text position, [B, C].</summary>
    public Tensor PoolerOutput { get; }

    /// <summary><c>text_projection(PoolerOutput)</c>, [B, projection_dim]; null for <see cref="CLIPTextModel"/>.</summary>
    public Tensor? TextEmbeds { get; }

    /// <summary>
    /// When requested: the embeddings output, then each layer's output (all before the final
    /// LayerNorm), as transformers' <c>hidden_states</c>; otherwise empty.
    /// </summary>
    public IReadOnlyList<Tensor> HiddenStates { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        LastHiddenState.Dispose();
        PoolerOutput.Dispose();
        TextEmbeds?.Dispose();
        foreach (var state in HiddenStates) state.Dispose();
    }
}
