using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>The ops <see cref="TorchNumerics.Verify"/> checks, and the start-up canaries.</summary>
internal static class NumericsSelfCheck
{
    /// <summary>
    /// The start-up canaries: small convolutions of the kinds oneDNN 3.7.1 got wrong on Zen 5 (channel counts that are
    /// not multiples of 16, few output channels as in every UNet/VAE conv_out, a stride-2 48-channel downsampler's
    /// backward) and plain ones. Together a few milliseconds.
    /// </summary>
    public static readonly ConvolutionShape[] ConvolutionCanaries =
    [
        new(2, 8, 3, 3, 1, 1, 7, 9),
        new(2, 32, 4, 3, 1, 1, 8, 8),
        new(2, 3, 8, 3, 2, 1, 8, 8),
        new(2, 4, 32, 3, 1, 1, 8, 8),
        new(2, 24, 40, 3, 1, 1, 8, 8),
        new(2, 40, 24, 1, 1, 0, 8, 8),
        new(1, 48, 48, 3, 2, 1, 16, 16),
        new(2, 16, 16, 3, 1, 1, 9, 6),
    ];

    public static List<NumericsCheckResult> Run(NumericsCheckDepth depth)
    {
        using var noGradOutside = no_grad(); // each check asks for its own gradients
        var results = new List<NumericsCheckResult>();
        int current = get_num_threads();
        int[] threadCounts = depth == NumericsCheckDepth.Sweep ? [1, 2] : [current];
        foreach (var threads in threadCounts)
        {
            set_num_threads(threads);
            try
            {
                ScalarType[] dtypes = [ScalarType.Float32, ScalarType.BFloat16];
                var convolutions = depth == NumericsCheckDepth.Sweep ? SweepConvolutions() : ConvolutionCanaries.Take(4);
                foreach (var shape in convolutions)
                    foreach (var dtype in dtypes)
                    {
                        var route = dtype == ScalarType.Float32 ? TorchNumerics.RouteFor(shape) : ConvolutionRoute.Native;
                        string path = dtype == ScalarType.BFloat16 ? "float32 detour" : route == ConvolutionRoute.Reference ? "reference (im2col)" : "native";
                        Add(results, $"conv2d {shape}", path, dtype, threads,
                            ConvolutionCheck.WorstError(shape, (x, w, b) => TorchNumerics.Conv2d(x, w, b, shape.Stride, shape.Padding), 23, dtype));
                        if (depth == NumericsCheckDepth.Sweep && dtype == ScalarType.Float32 && route == ConvolutionRoute.Reference)
                            Add(results, $"conv2d {shape}", "native (not used)", dtype, threads,
                                ConvolutionCheck.WorstError(shape, (x, w, b) => TorchNumerics.NativeConv2d(x, w, b, shape.Stride, shape.Padding), 23, dtype), informational: true);
                    }
                foreach (var dtype in dtypes)
                    foreach (var (name, op, inputs) in OtherOps(depth))
                        Add(results, name, "native", dtype, threads, OpCheck.WorstError(op, null, inputs, dtype, 29));
            }
            finally
            {
                set_num_threads(current);
            }
        }
        return results;
    }

    private static void Add(List<NumericsCheckResult> results, string operation, string path, ScalarType dtype, int threads, double error, bool informational = false) =>
        results.Add(new NumericsCheckResult(operation, path, dtype, threads, error, OpCheck.ToleranceOf(dtype), informational));

    /// <summary>The sweep's convolution grid: the canaries' channel relations times every kernel/stride/padding the models use.</summary>
    private static IEnumerable<ConvolutionShape> SweepConvolutions()
    {
        (long In, long Out)[] channels = [(8, 3), (32, 4), (3, 8), (4, 32), (24, 40), (48, 48), (16, 16), (64, 64)];
        (long K, long S, long P)[] geometries = [(1, 1, 0), (3, 1, 1), (3, 2, 1), (3, 2, 0)];
        foreach (var (cin, cout) in channels)
            foreach (var (k, s, p) in geometries)
                yield return new ConvolutionShape(2, cin, cout, k, s, p, 9, 10);
    }

    /// <summary>GroupNorm, linear and attention (quick), plus layer norm, bmm, GELU, SiLU and upsampling (sweep).</summary>
    private static IEnumerable<(string Name, Func<Tensor[], Tensor> Op, (long[] Shape, double Scale)[] Inputs)> OtherOps(NumericsCheckDepth depth)
    {
        yield return ("group_norm [2,24,8,8] 8 groups", t => nn.functional.group_norm(t[0], 8, t[1], t[2], 1e-5),
            [([2, 24, 8, 8], 1.0), ([24], 1.0), ([24], 1.0)]);
        yield return ("linear [2,7,40] -> 24", t => nn.functional.linear(t[0], t[1], t[2]),
            [([2, 7, 40], 1.0), ([24, 40], 0.16), ([24], 1.0)]);
        yield return ("scaled_dot_product_attention [2,3,9,8]", t => nn.functional.scaled_dot_product_attention(t[0], t[1], t[2]),
            [([2, 3, 9, 8], 1.0), ([2, 3, 9, 8], 1.0), ([2, 3, 9, 8], 1.0)]);
        if (depth != NumericsCheckDepth.Sweep) yield break;
        yield return ("group_norm [2,40,9,10] 8 groups", t => nn.functional.group_norm(t[0], 8, t[1], t[2], 1e-5),
            [([2, 40, 9, 10], 1.0), ([40], 1.0), ([40], 1.0)]);
        yield return ("layer_norm [2,77,40]", t => nn.functional.layer_norm(t[0], [40], t[1], t[2], 1e-5),
            [([2, 77, 40], 1.0), ([40], 1.0), ([40], 1.0)]);
        yield return ("linear [2,81,320] -> 40", t => nn.functional.linear(t[0], t[1], t[2]),
            [([2, 81, 320], 1.0), ([40, 320], 0.056), ([40], 1.0)]);
        yield return ("bmm [6,81,8]x[6,8,77]", t => bmm(t[0], t[1]), [([6, 81, 8], 1.0), ([6, 8, 77], 1.0)]);
        yield return ("scaled_dot_product_attention [2,5,81,8]x77", t => nn.functional.scaled_dot_product_attention(t[0], t[1], t[2]),
            [([2, 5, 81, 8], 1.0), ([2, 5, 77, 8], 1.0), ([2, 5, 77, 8], 1.0)]);
        yield return ("gelu [2,81,160]", t => nn.functional.gelu(t[0]), [([2, 81, 160], 2.0)]);
        yield return ("silu [2,40,9,10]", t => nn.functional.silu(t[0]), [([2, 40, 9, 10], 2.0)]);
        yield return ("upsample nearest x2 [2,24,9,10]", t => nn.functional.interpolate(t[0], scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest),
            [([2, 24, 9, 10], 1.0)]);
    }
}
