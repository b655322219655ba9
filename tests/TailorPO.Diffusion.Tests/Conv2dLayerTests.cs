using TailorPO.Diffusion.Blocks;
using TailorPO.TestUtilities;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>
/// Conv2dLayer's float32 gradients equal float64 ones on the shapes once suspected of a wrong native
/// CPU backward (fewer outputs than inputs, stride 2; see NativeConvolutionCanaryTests), and its
/// bfloat16 forward matches float32.
/// </summary>
public class Conv2dLayerTests
{
    [Theory]
    [InlineData(32, 4, 3, 1, 1, 16)]   // conv_out-like: out < in
    [InlineData(48, 16, 3, 1, 1, 8)]   // up-block resnet conv1: out < in
    [InlineData(32, 8, 1, 1, 0, 8)]    // 1x1 shortcut, out < in
    [InlineData(16, 16, 3, 2, 1, 8)]   // UNet downsampler
    [InlineData(16, 16, 3, 2, 0, 9)]   // VAE downsampler (pre-padded input, odd size)
    [InlineData(4, 16, 3, 1, 1, 12)]   // conv_in-like: out > in
    public void Float32_gradients_match_float64(long inChannels, long outChannels, long kernel, long stride, long padding, long size)
    {
        using var scope = NewDisposeScope();
        using var layer = new Conv2dLayer(inChannels, outChannels, kernel, stride, padding);
        var gen = new Generator(17);
        var x = randn(new long[] { 2, inChannels, size, size + 1 }, generator: gen);

        (Tensor Input, Tensor Weight, Tensor Bias, Tensor Output) Run(ScalarType dtype, bool useLayer)
        {
            var xi = x.to(dtype).detach().clone().requires_grad_(true);
            var w = layer.Weight.detach().to(dtype).clone().requires_grad_(true);
            var b = layer.Bias!.detach().to(dtype).clone().requires_grad_(true);
            Tensor y;
            if (useLayer)
            {
                using (no_grad()) { layer.Weight.copy_(w); layer.Bias!.copy_(b); }
                layer.Weight.requires_grad = true;
                layer.Bias!.requires_grad = true;
                layer.zero_grad();
                y = layer.call(xi);
            }
            else
            {
                y = nn.functional.conv2d(xi, w, b, new[] { stride, stride }, new[] { padding, padding });
            }
            var probe = linspace(-1, 1, y.numel(), dtype: dtype).reshape(y.shape);
            (y * probe).sum().backward();
            return useLayer
                ? (xi.grad!, layer.Weight.grad!, layer.Bias!.grad!, y)
                : (xi.grad!, w.grad!, b.grad!, y);
        }

        // Independent reference: libtorch's native float64 convolution and its backward.
        var reference = Run(ScalarType.Float64, useLayer: false);
        layer.to(ScalarType.Float32);
        var actual = Run(ScalarType.Float32, useLayer: true);
        TensorAssert.Close(reference.Output, actual.Output, 1e-5, 1e-5, "output");
        TensorAssert.Close(reference.Input, actual.Input, 1e-5, 1e-4, "input gradient");
        TensorAssert.Close(reference.Weight, actual.Weight, 1e-4, 1e-4, "weight gradient");
        TensorAssert.Close(reference.Bias, actual.Bias, 1e-4, 1e-4, "bias gradient");
    }

    [Fact]
    public void Bfloat16_input_is_convolved_like_float32_on_rounded_values()
    {
        using var scope = NewDisposeScope();
        using var layer = new Conv2dLayer(32, 4, 3, 1, 1);
        var x = randn(new long[] { 2, 32, 8, 8 }, generator: new Generator(2)).to(ScalarType.BFloat16);
        using var noGrad = no_grad();
        var expected = layer.call(x.to(ScalarType.Float32));
        layer.to(ScalarType.BFloat16);
        var actual = layer.call(x);
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        // Weights and output rounded to bf16 (2^-8 relative): a few units of that.
        TensorAssert.Close(expected, actual, 0.02, 0.02, "bf16 conv");
    }
}
