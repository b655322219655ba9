using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// A square-kernel 2-D convolution with the keys of <c>torch.nn.Conv2d</c> (<c>weight</c>, <c>bias</c>)
/// and PyTorch's default initialisation. bfloat16 inputs on the CPU are convolved in float32 and
/// cast back: libtorch 2.10's CPU bfloat16 convolution returned errors as large as the outputs
/// themselves on this project's machines (measured against float32 on the same rounded inputs),
/// while float16 and GPU bfloat16 are unaffected. On the CPU, gradients go
/// through <see cref="ConvolutionGradient"/> (the native backward was wrong for some shapes).
/// </summary>
public sealed class Conv2dLayer : nn.Module<Tensor, Tensor>
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
        // PyTorch's initialisation, taken from a throwaway torch Conv2d.
        using (var template = nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: hasBias))
        using (no_grad())
        {
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
        bool cpu = input.device.type == DeviceType.CPU;
        bool needsGradient = is_grad_enabled() && (input.requires_grad || weight.requires_grad || bias is { requires_grad: true });
        if (input.dtype != ScalarType.BFloat16 || !cpu)
            return Convolve(input, weight, bias, cpu && needsGradient);

        using var scope = NewDisposeScope();
        var result = Convolve(input.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32), needsGradient);
        return result.to(ScalarType.BFloat16).MoveToOuterDisposeScope();
    }

    private Tensor Convolve(Tensor input, Tensor w, Tensor? b, bool safeBackward)
    {
        // See ConvolutionGradient: the native CPU backward is wrong for some shapes.
        if (safeBackward && _padding[0] < w.shape[2])
            return ConvolutionGradient.Apply(input, w, b, _stride[0], _padding[0]);
        return nn.functional.conv2d(input, w, b, _stride, _padding);
    }
}
