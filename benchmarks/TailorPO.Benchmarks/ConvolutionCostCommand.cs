using System.Diagnostics;
using System.Globalization;
using TailorPO.Core.Numerics;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// <c>--conv-cost [--latent 32,64] [--reps N]</c>: what the CPU numerics guard costs a convolution it routes. Every
/// distinct convolution of SD v1.5's UNet (batch 1, at the given latent sizes) is timed forward, and forward + backward
/// with only the input gradient (the LoRA case: frozen convolution weights), on libtorch's own kernel (oneDNN here) and
/// on the im2col reference path the guard routes wrong shapes to; also on libtorch with oneDNN switched off process-wide
/// (the alternative the guard did not take). Runs alternate (native, reference, off, off, reference, native, ...) so that
/// a drifting load hits all three alike; the table gives medians and the reference / native ratio.
/// </summary>
internal static class ConvolutionCostCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        long[] latents = [32];
        int reps = 3;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--latent" && i + 1 < args.Count) { latents = args[++i].Split(',').Select(long.Parse).ToArray(); }
            else if (args[i] == "--reps" && i + 1 < args.Count && int.TryParse(args[i + 1], out var n) && n > 0) { reps = n; i++; }
            else
            {
                Console.Error.WriteLine($"--conv-cost takes --latent 32,64 and --reps N; got '{args[i]}'.");
                return 2;
            }
        }
        var decision = TorchNumerics.EnsureGuarded();
        Console.WriteLine($"// {decision.Summary}");
        Console.WriteLine($"// threads {get_num_threads()}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine("| latent | convolution | native fwd | reference fwd | ratio | native fwd+bwd | reference fwd+bwd | ratio | oneDNN off fwd+bwd | ratio |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var totals = new double[3];
        foreach (var latent in latents)
            foreach (var shape in StableDiffusionShapes(latent))
            {
                var (forward, backward) = Measure(shape, reps);
                for (int k = 0; k < 3; k++) totals[k] += backward[k];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {latent} | {shape.In}->{shape.Out} k{shape.Kernel} s{shape.Stride} at {shape.Height}x{shape.Width} | {forward[0]:F2} ms | {forward[1]:F2} ms | {forward[1] / forward[0]:F2} | " +
                    $"{backward[0]:F2} ms | {backward[1]:F2} ms | {backward[1] / backward[0]:F2} | {backward[2]:F2} ms | {backward[2] / backward[0]:F2} |"));
            }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| all | every distinct shape once, fwd+bwd | | | | {totals[0]:F0} ms | {totals[1]:F0} ms | {totals[1] / totals[0]:F2} | {totals[2]:F0} ms | {totals[2] / totals[0]:F2} |"));
        return 0;
    }

    /// <summary>Medians (ms) of [native, reference, oneDNN off], forward and forward + input-backward.</summary>
    private static (double[] Forward, double[] Backward) Measure(ConvolutionShape s, int reps)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(1);
        var x = randn([1, s.In, s.Height, s.Width], generator: generator);
        var w = randn([s.Out, s.In, s.Kernel, s.Kernel], generator: generator) / Math.Sqrt(s.In * s.Kernel * s.Kernel);
        var b = randn([s.Out], generator: generator);
        var g = randn([1, s.Out, s.OutHeight, s.OutWidth], generator: generator);
        Func<Tensor, Tensor>[] paths =
        [
            input => nn.functional.conv2d(input, w, b, [s.Stride, s.Stride], [s.Padding, s.Padding]),
            input => ReferenceConvolution.Conv2d(input, w, b, s.Stride, s.Padding),
            input => nn.functional.conv2d(input, w, b, [s.Stride, s.Stride], [s.Padding, s.Padding]),
        ];
        var forward = Enumerable.Range(0, 3).Select(_ => new List<double>()).ToArray();
        var backward = Enumerable.Range(0, 3).Select(_ => new List<double>()).ToArray();
        for (int rep = -1; rep < reps; rep++) // rep -1 warms up
        {
            var order = rep % 2 == 0 ? new[] { 0, 1, 2 } : [2, 1, 0];
            foreach (var k in order)
            {
                LibTorchSwitches.TrySetOneDnnEnabled(k != 2);
                try
                {
                    var clock = Stopwatch.StartNew();
                    using (var step = NewDisposeScope())
                    using (no_grad())
                        paths[k](x).sum().item<float>();
                    var forwardMs = clock.Elapsed.TotalMilliseconds;
                    clock.Restart();
                    using (var step = NewDisposeScope())
                    using (enable_grad())
                    {
                        var leaf = x.detach().requires_grad_(true);
                        autograd.grad([paths[k](leaf)], [leaf], [g])[0].sum().item<float>();
                    }
                    if (rep >= 0)
                    {
                        forward[k].Add(forwardMs);
                        backward[k].Add(clock.Elapsed.TotalMilliseconds + forwardMs);
                    }
                }
                finally
                {
                    LibTorchSwitches.TrySetOneDnnEnabled(true);
                }
            }
        }
        static double Median(List<double> v) { var o = v.Order().ToList(); return o[o.Count / 2]; }
        return (forward.Select(Median).ToArray(), backward.Select(Median).ToArray());
    }

    /// <summary>Every distinct convolution of SD v1.5's UNet (runwayml/stable-diffusion-v1-5 unet/config.json) at a latent size.</summary>
    private static IEnumerable<ConvolutionShape> StableDiffusionShapes(long latent)
    {
        var shapes = new List<ConvolutionShape>();
        void Conv(long cin, long cout, long k, long stride, long size) =>
            shapes.Add(new ConvolutionShape(1, cin, cout, k, stride, k == 3 ? 1 : 0, size, size));
        long[] channels = [320, 640, 1280, 1280];
        Conv(4, 320, 3, 1, latent);                                     // conv_in
        long previous = 320;
        for (int block = 0; block < 4; block++)
        {
            long size = latent >> block, c = channels[block];
            Conv(previous, c, 3, 1, size);                              // resnet 0 conv1
            Conv(c, c, 3, 1, size);                                     // resnet conv2 / resnet 1 conv1
            if (previous != c) Conv(previous, c, 1, 1, size);           // resnet 0 shortcut
            if (block < 3) { Conv(c, c, 1, 1, size); Conv(c, c, 3, 2, size); } // attention proj_in/out, downsampler
            previous = c;
        }
        // Up blocks: three resnets each, input = previous + skip channels; upsampler after blocks 0-2.
        long[] upChannels = [1280, 1280, 640, 320];
        long[][] skips = [[1280, 1280, 1280], [1280, 1280, 640], [640, 640, 320], [320, 320, 320]];
        long current = 1280;
        for (int block = 0; block < 4; block++)
        {
            long size = latent >> (3 - block), c = upChannels[block];
            foreach (var skip in skips[block])
            {
                Conv(current + skip, c, 3, 1, size);
                Conv(current + skip, c, 1, 1, size);
                current = c;
            }
            Conv(c, c, 3, 1, size);
            if (block > 0) Conv(c, c, 1, 1, size);                      // attention proj_in/out
            if (block < 3) Conv(c, c, 3, 1, size * 2);                  // upsampler (after nearest x2)
        }
        Conv(320, 4, 3, 1, latent);                                     // conv_out
        return shapes.Distinct();
    }
}
