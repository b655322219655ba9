using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// A square-kernel 2-D convolution with the keys of <c>torch.nn.Conv2d</c> (<c>weight</c>, <c>bias</c>)
/// and PyTorch's default initialisation (uninitialised within a <see cref="SkipInitScope"/>). Forward and backward are libtorch's native convolution
/// (NativeConvolutionCanaryTests checks them against a float64 reference). bfloat16 inputs on the
/// CPU are convolved in float32 and cast back, for speed only: without AVX512-BF16/AMX, libtorch's
/// native CPU bfloat16 convolution was 4-7x slower than float32 (AVX-512) and about 100x slower
/// (AVX2 only), while float32 on the same rounded values is at least as accurate.
/// </summary>
internal sealed class Conv2dLayer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private Parameter weight;
    private Parameter? bias;
#pragma warning restore IDE1006

    private readonly long[] _stride;
    private readonly long[] _padding;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <param name="hasBias">Whether the layer has a bias.</param>
    public Conv2dLayer(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool hasBias = true)
        : base("Conv2d")
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0)
            throw new ArgumentOutOfRangeException(nameof(inChannels),
                $"invalid convolution: in {inChannels}, out {outChannels}, kernel {kernelSize}, stride {stride}, padding {padding}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        _stride = [stride, stride];
        _padding = [padding, padding];
        if (SkipInitScope.Current is { } scope)
        {
            // The checkpoint that follows writes every value (SkipInitScope).
            weight = scope.Empty(outChannels, inChannels, kernelSize, kernelSize);
            if (hasBias) bias = scope.Empty(outChannels);
        }
        else
        {
            // PyTorch's initialisation, taken from a throwaway torch Conv2d.
            using var template = nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: hasBias);
            using var noGrad = no_grad();
            weight = new Parameter(template.weight.detach().clone());
            if (hasBias) bias = new Parameter(template.bias!.detach().clone());
        }
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>The kernel [out, in, k, k].</summary>
    public Parameter Weight => weight;

    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias => bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != InChannels)
            throw new ArgumentException($"input must be [B, {InChannels}, H, W]; got [{string.Join(", ", input.shape)}].", nameof(input));
        if (input.dtype != ScalarType.BFloat16 || input.device.type != DeviceType.CPU)
            return nn.functional.conv2d(input, weight, bias, _stride, _padding);

        // The float32 detour (see the class summary); autograd differentiates through the casts.
        using var scope = NewDisposeScope();
        var result = nn.functional.conv2d(input.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32), _stride, _padding);
        return result.to(ScalarType.BFloat16).MoveToOuterDisposeScope();
    }
}
