using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// One pre-norm transformer layer: x + attn(layer_norm1(x)), then x + mlp(layer_norm2(x)).
/// </summary>
internal sealed class CLIPEncoderLayer : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly CLIPAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly CLIPMLP mlp;
    private readonly LayerNorm layer_norm2;
#pragma warning restore IDE1006

    public CLIPEncoderLayer(long hiddenSize, long intermediateSize, long heads, string activation, double layerNormEps, bool causal)
        : base(nameof(CLIPEncoderLayer))
    {
        self_attn = new CLIPAttention(hiddenSize, heads, causal);
        layer_norm1 = Layers.LayerNorm(hiddenSize, layerNormEps);
        mlp = new CLIPMLP(hiddenSize, intermediateSize, activation);
        layer_norm2 = Layers.LayerNorm(hiddenSize, layerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        Tensor afterAttention;
        using (var normed = layer_norm1.forward(hidden))
        using (var attended = self_attn.forward(normed, additiveMask))
            afterAttention = hidden + attended;
        using (afterAttention)
        using (var normed = layer_norm2.forward(afterAttention))
        using (var fed = mlp.forward(normed))
            return afterAttention + fed;
    }
}
