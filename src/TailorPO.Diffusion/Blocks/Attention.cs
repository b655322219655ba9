using TailorPO.Diffusion.Lora;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// diffusers' <c>Attention</c> with its default processor: multi-head (cross-)attention with
/// <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c> (Linear) + <c>to_out.1</c> (Dropout) and an
/// optional <c>group_norm</c>. Takes tokens [B, N, C] or a feature map [B, C, H, W] (flattened to
/// H*W tokens and reshaped back, as diffusers' processor does); the VAE mid-block uses the residual
/// connection and output rescaling. The four projections are <see cref="LoraLinear"/> layers, so
/// LoRA adapters attach to them without changing the base keys.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly GroupNorm? group_norm;
    private readonly LoraLinear to_q;
    private readonly LoraLinear to_k;
    private readonly LoraLinear to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;
#pragma warning restore IDE1006

    /// <summary>Creates the layer.</summary>
    /// <param name="queryDim">Channels of the query input (and of the output).</param>
    /// <param name="crossAttentionDim">Channels of the key/value input; null for self-attention.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="dimHead">Channels per head; inner width = heads * dimHead.</param>
    /// <param name="dropout">Dropout after the output projection (training mode only).</param>
    /// <param name="bias">Whether to_q/to_k/to_v have biases (false in the UNet, true in the VAE).</param>
    /// <param name="outBias">Whether to_out.0 has a bias.</param>
    /// <param name="upcastAttention">Compute the attention in float32 when the input is half/bfloat16 (SD 2.1).</param>
    /// <param name="upcastSoftmax">Same effect as <paramref name="upcastAttention"/> here (the softmax is part of the fused attention).</param>
    /// <param name="normNumGroups">Groups of an input GroupNorm (<c>group_norm</c>); null for none.</param>
    /// <param name="eps">Epsilon of that GroupNorm.</param>
    /// <param name="residualConnection">Add the input to the output.</param>
    /// <param name="rescaleOutputFactor">The output is divided by this (after the residual).</param>
    public Attention(long queryDim, long? crossAttentionDim = null, int heads = 8, long dimHead = 64, double dropout = 0.0,
        bool bias = false, bool outBias = true, bool upcastAttention = false, bool upcastSoftmax = false,
        long? normNumGroups = null, double eps = 1e-5, bool residualConnection = false, double rescaleOutputFactor = 1.0)
        : base(nameof(Attention))
    {
        if (queryDim <= 0) throw new ArgumentOutOfRangeException(nameof(queryDim), queryDim, "must be positive.");
        if (heads <= 0) throw new ArgumentOutOfRangeException(nameof(heads), heads, "must be positive.");
        if (dimHead <= 0) throw new ArgumentOutOfRangeException(nameof(dimHead), dimHead, "must be positive.");
        if (crossAttentionDim is <= 0) throw new ArgumentOutOfRangeException(nameof(crossAttentionDim), crossAttentionDim, "must be positive.");
        if (rescaleOutputFactor == 0 || !double.IsFinite(rescaleOutputFactor))
            throw new ArgumentOutOfRangeException(nameof(rescaleOutputFactor), rescaleOutputFactor, "must be finite and non-zero.");
        if (normNumGroups is long g && (g <= 0 || queryDim % g != 0))
            throw new ArgumentException($"queryDim {queryDim} is not divisible by normNumGroups {g}.", nameof(normNumGroups));

        QueryDim = queryDim;
        CrossAttentionDim = crossAttentionDim ?? queryDim;
        IsCrossAttention = crossAttentionDim is not null;
        Heads = heads;
        DimHead = dimHead;
        InnerDim = heads * dimHead;
        Upcast = upcastAttention || upcastSoftmax;
        ResidualConnection = residualConnection;
        RescaleOutputFactor = rescaleOutputFactor;

        if (normNumGroups is long groups) group_norm = nn.GroupNorm(groups, queryDim, eps, affine: true);
        to_q = new LoraLinear(queryDim, InnerDim, bias);
        to_k = new LoraLinear(CrossAttentionDim, InnerDim, bias);
        to_v = new LoraLinear(CrossAttentionDim, InnerDim, bias);
        to_out = new ModuleList<nn.Module<Tensor, Tensor>>(new LoraLinear(InnerDim, queryDim, outBias), nn.Dropout(dropout));
        RegisterComponents();
    }

    /// <summary>Query (and output) channels.</summary>
    public long QueryDim { get; }

    /// <summary>Key/value input channels (= <see cref="QueryDim"/> for self-attention).</summary>
    public long CrossAttentionDim { get; }

    /// <summary>True when built for a separate key/value input.</summary>
    public bool IsCrossAttention { get; }

    /// <summary>Number of heads.</summary>
    public int Heads { get; }

    /// <summary>Channels per head.</summary>
    public long DimHead { get; }

    /// <summary>heads * dimHead.</summary>
    public long InnerDim { get; }

    /// <summary>True when the attention is computed in float32 for half-precision inputs.</summary>
    public bool Upcast { get; }

    /// <summary>True when the input is added to the output.</summary>
    public bool ResidualConnection { get; }

    /// <summary>The output is divided by this.</summary>
    public double RescaleOutputFactor { get; }

    /// <summary>The four projection layers that LoRA targets, by their names relative to this module.</summary>
    public IEnumerable<(string Name, LoraLinear Layer)> Projections()
    {
        yield return ("to_q", to_q);
        yield return ("to_k", to_k);
        yield return ("to_v", to_v);
        yield return ("to_out.0", (LoraLinear)to_out[0]);
    }

    /// <summary>Runs the attention.</summary>
    /// <param name="hiddenStates">Queries: [B, N, queryDim] or [B, queryDim, H, W].</param>
    /// <param name="encoderHiddenStates">Keys/values [B, L, crossAttentionDim]; null means self-attention.</param>
    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates)
    {
        var ndim = hiddenStates.dim();
        if (ndim is not (3 or 4) || hiddenStates.shape[ndim == 4 ? 1 : 2] != QueryDim)
            throw new ArgumentException(
                $"hiddenStates must be [B, N, {QueryDim}] or [B, {QueryDim}, H, W]; got [{string.Join(", ", hiddenStates.shape)}].",
                nameof(hiddenStates));
        if (encoderHiddenStates is not null &&
            (encoderHiddenStates.dim() != 3 || encoderHiddenStates.shape[0] != hiddenStates.shape[0] || encoderHiddenStates.shape[2] != CrossAttentionDim))
            throw new ArgumentException(
                $"encoderHiddenStates must be [{hiddenStates.shape[0]}, L, {CrossAttentionDim}]; got [{string.Join(", ", encoderHiddenStates.shape)}].",
                nameof(encoderHiddenStates));
        if (encoderHiddenStates is null && IsCrossAttention && CrossAttentionDim != QueryDim)
            throw new ArgumentException($"this cross-attention layer needs encoderHiddenStates [B, L, {CrossAttentionDim}].", nameof(encoderHiddenStates));

        using var scope = NewDisposeScope();
        var residual = hiddenStates;
        long batch = hiddenStates.shape[0], channels = 0, height = 0, width = 0;
        var tokens = hiddenStates;
        if (ndim == 4)
        {
            channels = hiddenStates.shape[1];
            height = hiddenStates.shape[2];
            width = hiddenStates.shape[3];
            tokens = hiddenStates.view(batch, channels, height * width).transpose(1, 2);
        }

        if (group_norm is not null)
            tokens = group_norm.call(tokens.transpose(1, 2)).transpose(1, 2);

        var context = encoderHiddenStates ?? tokens;
        var query = SplitHeads(to_q.call(tokens));
        var key = SplitHeads(to_k.call(context));
        var value = SplitHeads(to_v.call(context));

        var computeType = query.dtype;
        if (Upcast && computeType is ScalarType.Float16 or ScalarType.BFloat16)
        {
            query = query.to(ScalarType.Float32);
            key = key.to(ScalarType.Float32);
            value = value.to(ScalarType.Float32);
        }
        // Scale 1/sqrt(dimHead) is SDPA's default, as in diffusers (scale_qk).
        var attended = nn.functional.scaled_dot_product_attention(query, key, value);
        if (attended.dtype != computeType) attended = attended.to(computeType);

        var merged = attended.transpose(1, 2).reshape(batch, -1, InnerDim);
        var output = to_out[1].call(to_out[0].call(merged));

        if (ndim == 4) output = output.transpose(-1, -2).reshape(batch, channels, height, width);
        if (ResidualConnection) output = output + residual;
        if (RescaleOutputFactor != 1.0) output = output / RescaleOutputFactor;
        return output.MoveToOuterDisposeScope();
    }

    private Tensor SplitHeads(Tensor x) =>
        x.view(x.shape[0], x.shape[1], Heads, DimHead).transpose(1, 2);
}
