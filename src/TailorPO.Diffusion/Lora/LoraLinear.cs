using TailorPO.Diffusion.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>
/// A <c>Linear</c> layer that can carry one low-rank adapter:
/// <c>y = x W^T + b + scale * (alpha / rank) * B(A(dropout(x)))</c>.
/// The base keys stay <c>weight</c> / <c>bias</c>, so base checkpoints load unchanged; an attached
/// adapter adds <c>lora_A.weight</c> [rank, in] and <c>lora_B.weight</c> [out, rank] (the PEFT names).
/// A is drawn kaiming-uniform (as PEFT does, bound 1/sqrt(in)) from the caller's generator and B
/// starts at zero, so a fresh adapter leaves the output unchanged.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private Parameter weight;
    private Parameter? bias;
    private Linear? lora_A;
    private Linear? lora_B;
#pragma warning restore IDE1006

    private double _scale = 1.0;
    private bool _enabled = true;

    /// <summary>
    /// Creates the layer with PyTorch's default Linear initialisation (left uninitialised, in the target dtype
    /// and device, when a model loader builds it for a checkpoint that then writes every value).
    /// </summary>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="hasBias">Whether the layer has a bias.</param>
    public LoraLinear(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(LoraLinear))
    {
        if (inFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "must be positive.");
        if (outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, "must be positive.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        if (SkipInitScope.Current is { } scope)
        {
            // The checkpoint that follows writes every value (SkipInitScope).
            weight = scope.Empty(outFeatures, inFeatures);
            if (hasBias) bias = scope.Empty(outFeatures);
        }
        else
        {
            // Same initialisation as torch.nn.Linear, via a throwaway Linear whose storage moves into this layer
            // (detach shares it; a clone would hold the weights twice until the template's tensors are finalised,
            // which made building SD's UNet peak at ~1.8x its size).
            using var template = nn.Linear(inFeatures, outFeatures, hasBias);
            using var noGrad = no_grad();
            weight = new Parameter(template.weight.detach());
            if (hasBias) bias = new Parameter(template.bias!.detach());
        }
        RegisterComponents();
    }

    /// <summary>Input width.</summary>
    public long InFeatures { get; }

    /// <summary>Output width.</summary>
    public long OutFeatures { get; }

    /// <summary>The base weight [out, in].</summary>
    public Parameter Weight => weight;

    /// <summary>The base bias [out], or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>True when an adapter is attached.</summary>
    public bool HasAdapter => lora_A is not null;

    /// <summary>The adapter's A matrix [rank, in] (null without an adapter).</summary>
    public Parameter? LoraA => lora_A?.weight;

    /// <summary>The adapter's B matrix [out, rank] (null without an adapter).</summary>
    public Parameter? LoraB => lora_B?.weight;

    /// <summary>The adapter rank (0 without an adapter).</summary>
    public int Rank { get; private set; }

    /// <summary>The adapter's alpha; the update is scaled by alpha / rank.</summary>
    public double Alpha { get; private set; }

    /// <summary>Dropout probability on the adapter's input (training mode only).</summary>
    public double Dropout { get; private set; }

    /// <summary>True while the adapter's update has been folded into <see cref="Weight"/>.</summary>
    public bool IsMerged { get; private set; }

    /// <summary>
    /// The user multiplier s of the update (diffusers' <c>cross_attention_kwargs={"scale": s}</c>).
    /// Changing it while merged re-merges with the new value.
    /// </summary>
    public double Scale
    {
        get => _scale;
        set
        {
            if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "the LoRA scale must be finite.");
            if (IsMerged)
            {
                Unmerge();
                _scale = value;
                Merge();
            }
            else
            {
                _scale = value;
            }
        }
    }

    /// <summary>
    /// Whether the adapter contributes. Disabling a merged adapter un-merges it first, so a disabled
    /// layer always computes the base (reference) output.
    /// </summary>
    public bool AdapterEnabled
    {
        get => _enabled;
        set
        {
            if (!value && IsMerged) Unmerge();
            _enabled = value;
        }
    }

    /// <summary>The factor the adapter output is multiplied by: scale * alpha / rank.</summary>
    public double EffectiveScale => Rank == 0 ? 0 : _scale * Alpha / Rank;

    /// <summary>Attaches a fresh adapter: A kaiming-uniform from <paramref name="generator"/>, B zero.</summary>
    /// <param name="rank">The rank r (at least 1).</param>
    /// <param name="alpha">alpha; the update is scaled by alpha / r.</param>
    /// <param name="generator">The random source of A.</param>
    /// <param name="dropout">Dropout probability on the adapter input.</param>
    /// <param name="dtype">Adapter dtype; default float32 for half/bfloat16 base weights, else the base dtype.</param>
    /// <exception cref="InvalidOperationException">An adapter is already attached.</exception>
    public void AttachAdapter(int rank, double alpha, Generator generator, double dropout = 0.0, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (HasAdapter) throw new InvalidOperationException("This layer already has a LoRA adapter; remove it first.");
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "the LoRA rank must be at least 1.");
        if (!double.IsFinite(alpha) || alpha <= 0) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "the LoRA alpha must be positive and finite.");
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1).");

        var adapterType = dtype ?? (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : weight.dtype);
        var device = weight.device;
        var a = nn.Linear(InFeatures, rank, hasBias: false, device: device, dtype: adapterType);
        var b = nn.Linear(rank, OutFeatures, hasBias: false, device: device, dtype: adapterType);
        using (no_grad())
        {
            double bound = 1.0 / Math.Sqrt(InFeatures);
            using var draw = rand(new long[] { rank, InFeatures }, dtype: ScalarType.Float64, generator: generator);
            a.weight.copy_(draw * (2 * bound) - bound);
            b.weight.zero_();
        }
        lora_A = a;
        lora_B = b;
        register_module(nameof(lora_A), a);
        register_module(nameof(lora_B), b);
        Rank = rank;
        Alpha = alpha;
        Dropout = dropout;
        IsMerged = false;
    }

    /// <summary>Changes the adapter's alpha in place (the update scale alpha / rank); re-merges when merged.</summary>
    /// <exception cref="ArgumentOutOfRangeException">alpha is not positive and finite.</exception>
    /// <exception cref="InvalidOperationException">No adapter is attached.</exception>
    public void SetAlpha(double alpha)
    {
        if (!HasAdapter) throw new InvalidOperationException("This layer has no LoRA adapter.");
        if (!double.IsFinite(alpha) || alpha <= 0) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "the LoRA alpha must be positive and finite.");
        var merged = IsMerged;
        if (merged) Unmerge();
        Alpha = alpha;
        if (merged) Merge();
    }

    /// <summary>Detaches the adapter (un-merging it first); the layer becomes a plain Linear again.</summary>
    public void RemoveAdapter()
    {
        if (!HasAdapter) return;
        if (IsMerged) Unmerge();
        register_module(nameof(lora_A), null!);
        register_module(nameof(lora_B), null!);
        lora_A!.Dispose();
        lora_B!.Dispose();
        lora_A = null;
        lora_B = null;
        Rank = 0;
        Alpha = 0;
    }

    /// <summary>The weight update scale * alpha / rank * B @ A, as float32 [out, in].</summary>
    public Tensor DeltaWeight()
    {
        if (!HasAdapter) throw new InvalidOperationException("This layer has no LoRA adapter.");
        using var scope = NewDisposeScope();
        var delta = matmul(lora_B!.weight.detach().to(ScalarType.Float32), lora_A!.weight.detach().to(ScalarType.Float32)) * EffectiveScale;
        return delta.MoveToOuterDisposeScope();
    }

    /// <summary>Folds the adapter into the base weight (inference speed); no-op when already merged or disabled.</summary>
    public void Merge()
    {
        if (!HasAdapter) throw new InvalidOperationException("This layer has no LoRA adapter to merge.");
        if (IsMerged || !_enabled) return;
        ApplyDelta(+1);
        IsMerged = true;
    }

    /// <summary>Subtracts a merged update again (exact up to float rounding of the base dtype).</summary>
    public void Unmerge()
    {
        if (!IsMerged) return;
        ApplyDelta(-1);
        IsMerged = false;
    }

    private void ApplyDelta(int sign)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var updated = weight.detach().to(ScalarType.Float32) + DeltaWeight().to(weight.device) * sign;
        weight.copy_(updated);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.shape.Length == 0 || input.shape[^1] != InFeatures)
            throw new ArgumentException($"input's last dimension must be {InFeatures}; got [{string.Join(", ", input.shape)}].", nameof(input));
        var output = nn.functional.linear(input, weight, bias);
        if (lora_A is null || !_enabled || IsMerged || _scale == 0) return output;

        using var scope = NewDisposeScope();
        var adapterType = lora_A.weight.dtype;
        var x = input.dtype == adapterType ? input : input.to(adapterType);
        if (Dropout > 0) x = nn.functional.dropout(x, Dropout, training);
        var update = lora_B!.call(lora_A.call(x)) * EffectiveScale;
        if (update.dtype != output.dtype) update = update.to(output.dtype);
        return (output + update).MoveToOuterDisposeScope();
    }
}
