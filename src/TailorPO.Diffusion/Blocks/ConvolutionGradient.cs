using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// A 2-D convolution whose backward pass is built from operations verified to be exact
/// on the CPU: the input gradient is a forward convolution of the output gradient with the
/// transposed, flipped kernel (over the zero-dilated output gradient for strides above 1); the
/// kernel gradient is an im2col (unfold) product. libtorch 2.10's
/// native CPU convolution backward returned garbage (errors of the gradients' own size, NaN at
/// random) when the layer has fewer output than input channels (e.g. a UNet's conv_out, or the
/// up blocks' resnets) on this project's machines, while float64 and the forward pass were right.
/// </summary>
internal sealed class ConvolutionGradient : autograd.SingleTensorFunction<ConvolutionGradient>
{
    private sealed record Settings(long Stride, long Padding, bool HasBias);

    public override string Name => "TailorPO.Conv2d";

    /// <summary>conv2d(input, weight, bias, stride, padding) with the safe backward (requires padding &lt; kernel).</summary>
    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias, long stride, long padding) =>
        apply(input, weight, (object?)bias ?? NoBias.Instance, new Settings(stride, padding, bias is not null));

    private sealed class NoBias
    {
        public static readonly NoBias Instance = new();
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var bias = vars[2] as Tensor;
        var settings = (Settings)vars[3];
        ctx.save_for_backward([input, weight]);
        ctx.save_data("settings", settings);
        return nn.functional.conv2d(input, weight, bias, [settings.Stride, settings.Stride], [settings.Padding, settings.Padding]);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var input = saved[0];
        var weight = saved[1];
        var settings = (Settings)ctx.get_data("settings");
        long k = weight.shape[2], p = settings.Padding, stride = settings.Stride;
        long batch = input.shape[0], inChannels = input.shape[1], outChannels = weight.shape[0];
        long height = input.shape[2], width = input.shape[3];

        var g = gradOutput.contiguous();
        // Input rows/columns the windows cover beyond the last output's stride step (0 for stride 1).
        long extraRows = height - ((g.shape[2] - 1) * stride + k - 2 * p);
        long extraColumns = width - ((g.shape[3] - 1) * stride + k - 2 * p);
        var spread = g;
        if (stride > 1 || extraRows > 0 || extraColumns > 0)
        {
            // Put the output gradient back on the input grid: zeros between its entries (and after the last).
            spread = zeros(new[] { batch, outChannels, (g.shape[2] - 1) * stride + 1 + extraRows, (g.shape[3] - 1) * stride + 1 + extraColumns },
                g.dtype, g.device);
            spread[.., .., TensorIndex.Slice(0, (g.shape[2] - 1) * stride + 1, stride), TensorIndex.Slice(0, (g.shape[3] - 1) * stride + 1, stride)] = g;
        }
        // dL/dx = spread (*) W^T flipped with "full" padding k-1-p: a plain forward convolution.
        var flipped = weight.transpose(0, 1).flip(2, 3).contiguous();
        var gradInput = nn.functional.conv2d(spread, flipped, null, [1, 1], [k - 1 - p, k - 1 - p]);
        // dL/dW = sum_b g_b [out, L] @ cols_b^T [L, in*k*k] (im2col of the input).
        var columns = nn.functional.unfold(input, (k, k), padding: (p, p), stride: (stride, stride));
        var gradWeight = matmul(g.reshape(batch, outChannels, -1), columns.transpose(1, 2)).sum(new long[] { 0 })
            .reshape(outChannels, inChannels, k, k);
        var gradBias = settings.HasBias ? g.sum(new long[] { 0, 2, 3 }) : null;
        return [gradInput, gradWeight, gradBias!, null!];
    }
}
