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
    /// <summary>
    /// The most bytes of unfolded input (im2col columns) one matrix product may take; larger batches are convolved in
    /// chunks of whole images. The columns hold every input pixel kernel x kernel times: a grade's batch of 48 images of
    /// 96 channels at 32 x 32 would otherwise take 170 MB at once.
    /// </summary>
    public const long MaximumColumnBytes = 32L << 20;

    /// <summary>conv2d(input, weight, bias) with a square kernel, by im2col, in chunks of at most <see cref="MaximumColumnBytes"/> of columns.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding) =>
        Conv2d(input, weight, bias, stride, padding, MaximumColumnBytes);

    /// <summary>conv2d by im2col, chunking the batch so that no chunk's columns exceed <paramref name="maximumColumnBytes"/> (one image at least).</summary>
    internal static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding, long maximumColumnBytes)
    {
        long batch = input.shape[0], kernel = weight.shape[2];
        long outHeight = (input.shape[2] + 2 * padding - kernel) / stride + 1;
        long outWidth = (input.shape[3] + 2 * padding - kernel) / stride + 1;
        var columnBytesPerImage = input.shape[1] * kernel * kernel * outHeight * outWidth * input.ElementSize;
        var chunk = Math.Max(1, maximumColumnBytes / Math.Max(1, columnBytesPerImage));
        if (batch <= chunk) return Unchunked(input, weight, bias, stride, padding, outHeight, outWidth);
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < batch; start += chunk)
            parts.Add(Unchunked(input.narrow(0, start, Math.Min(chunk, batch - start)), weight, bias, stride, padding, outHeight, outWidth));
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    private static Tensor Unchunked(Tensor input, Tensor weight, Tensor? bias, long stride, long padding, long outHeight, long outWidth)
    {
        long batch = input.shape[0], outChannels = weight.shape[0], kernel = weight.shape[2];
        using var scope = NewDisposeScope();
        var columns = nn.functional.unfold(input, (kernel, kernel), padding: (padding, padding), stride: (stride, stride));
        var output = matmul(weight.reshape(outChannels, -1), columns);
        if (bias is not null) output = output + bias.view(1, -1, 1);
        return output.reshape(batch, outChannels, outHeight, outWidth).MoveToOuterDisposeScope();
    }
}
