using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>
/// A 2-D convolution as im2col and a matrix product (<c>unfold</c>, <c>matmul</c>): no convolution kernel is
/// involved, forward or backward (autograd differentiates <c>unfold</c> into <c>fold</c>), so oneDNN never runs.
/// It is the route for the convolutions the numerics guard finds wrong on the running CPU, and, in float64, the
/// reference the checks compare against.
/// </summary>
internal static class ReferenceConvolution
{
    /// <summary>conv2d(input, weight, bias) with a square kernel, by im2col.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        long batch = input.shape[0], outChannels = weight.shape[0], kernel = weight.shape[2];
        long outHeight = (input.shape[2] + 2 * padding - kernel) / stride + 1;
        long outWidth = (input.shape[3] + 2 * padding - kernel) / stride + 1;
        using var scope = NewDisposeScope();
        var columns = nn.functional.unfold(input, (kernel, kernel), padding: (padding, padding), stride: (stride, stride));
        var output = matmul(weight.reshape(outChannels, -1), columns);
        if (bias is not null) output = output + bias.view(1, -1, 1);
        return output.reshape(batch, outChannels, outHeight, outWidth).MoveToOuterDisposeScope();
    }
}
