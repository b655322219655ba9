using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// diffusers' <c>Transformer2DModel</c> for continuous (latent feature map) input:
/// GroupNorm (<c>norm</c>, eps 1e-6), <c>proj_in</c>, <c>transformer_blocks.N</c>, <c>proj_out</c>, plus
/// the input as residual. The projections are 1x1 convolutions applied before flattening
/// (SD v1.x) or Linear layers applied to the tokens (<c>use_linear_projection</c>, SD v2.x).
/// </summary>
internal sealed class Transformer2DModel : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly GroupNorm norm;
    private readonly nn.Module<Tensor, Tensor> proj_in;
    private readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    private readonly nn.Module<Tensor, Tensor> proj_out;
#pragma warning restore IDE1006

    private readonly bool _linearProjection;

    /// <summary>Creates the model.</summary>
    /// <param name="heads">Attention heads.</param>
    /// <param name="headDim">Channels per head (inner width = heads * headDim).</param>
    /// <param name="inChannels">Feature-map channels.</param>
    /// <param name="layers">Number of transformer blocks.</param>
    /// <param name="crossAttentionDim">Text-embedding width.</param>
    /// <param name="normNumGroups">GroupNorm groups.</param>
    /// <param name="useLinearProjection">Linear (SD v2.x) instead of 1x1-conv projections.</param>
    /// <param name="upcastAttention">Attention in float32 for half inputs.</param>
    /// <param name="dropout">Dropout in the blocks.</param>
    public Transformer2DModel(int heads, long headDim, long inChannels, int layers, long? crossAttentionDim, long normNumGroups,
        bool useLinearProjection, bool upcastAttention = false, double dropout = 0.0) : base(nameof(Transformer2DModel))
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "at least one transformer block is needed.");
        long inner = heads * headDim;
        _linearProjection = useLinearProjection;
        InChannels = inChannels;
        norm = Normalization.GroupNorm(normNumGroups, inChannels, 1e-6);
        proj_in = useLinearProjection ? Layers.Linear(inChannels, inner) : new Conv2dLayer(inChannels, inner, 1, stride: 1);
        transformer_blocks = new ModuleList<BasicTransformerBlock>(Enumerable.Range(0, layers)
            .Select(_ => new BasicTransformerBlock(inner, heads, headDim, crossAttentionDim, dropout, upcastAttention: upcastAttention)).ToArray());
        proj_out = useLinearProjection ? Layers.Linear(inner, inChannels) : new Conv2dLayer(inner, inChannels, 1, stride: 1);
        RegisterComponents();
    }

    /// <summary>Feature-map channels.</summary>
    public long InChannels { get; }

    /// <summary>The transformer blocks.</summary>
    public IReadOnlyList<BasicTransformerBlock> Blocks => transformer_blocks.ToList();

    /// <summary>Runs the model on [B, C, H, W] with text [B, L, D].</summary>
    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates)
    {
        if (hiddenStates.dim() != 4 || hiddenStates.shape[1] != InChannels)
            throw new ArgumentException($"hiddenStates must be [B, {InChannels}, H, W]; got [{string.Join(", ", hiddenStates.shape)}].", nameof(hiddenStates));
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], height = hiddenStates.shape[2], width = hiddenStates.shape[3];
        var residual = hiddenStates;
        var x = norm.call(hiddenStates);
        long inner;
        if (!_linearProjection)
        {
            x = proj_in.call(x);
            inner = x.shape[1];
            x = x.permute(0, 2, 3, 1).reshape(batch, height * width, inner);
        }
        else
        {
            inner = x.shape[1];
            x = x.permute(0, 2, 3, 1).reshape(batch, height * width, inner);
            x = proj_in.call(x);
            inner = x.shape[2];
        }

        foreach (var block in transformer_blocks) x = block.call(x, encoderHiddenStates);

        if (!_linearProjection)
        {
            x = x.reshape(batch, height, width, inner).permute(0, 3, 1, 2).contiguous();
            x = proj_out.call(x);
        }
        else
        {
            x = proj_out.call(x);
            x = x.reshape(batch, height, width, InChannels).permute(0, 3, 1, 2).contiguous();
        }
        return (x + residual).MoveToOuterDisposeScope();
    }
}
