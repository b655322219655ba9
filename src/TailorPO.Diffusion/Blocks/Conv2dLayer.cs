using TailorPO.Core.Numerics;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// A square-kernel 2-D convolution with the keys of <c>torch.nn.Conv2d</c> (<c>weight</c>, <c>bias</c>)
/// and PyTorch's default initialisation (uninitialised within a <see cref="SkipInitScope"/>). Every UNet, VAE and
/// CLIP convolution of the library is one of these, and each runs through <see cref="TorchNumerics.Conv2d"/>: libtorch's
/// own kernel where it is right on the running CPU, the im2col reference path for the shapes it gets wrong (oneDNN on
/// AMD Zen 5), bfloat16 convolved in float32 on the CPU (NativeConvolutionCanaryTests checks every path against float64).
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
        return TorchNumerics.Conv2d(input, weight, bias, _stride[0], _padding[0]);
    }
}
