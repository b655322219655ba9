using TailorPO.Core.Numerics;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Numerics;

/// <summary>
/// The CPU numerics guard: its decision on the running CPU, its self-check, and - through a simulated faulty CPU, since
/// the real defect (oneDNN 3.7.1 on AMD Zen 5) shows only on such a machine - that it finds a wrong convolution, routes
/// exactly the wrong shapes through im2col, and that the routed result is right. The decision is process-wide: every
/// test that changes it restores the real one.
/// </summary>
public sealed class TorchNumericsTests(ITestOutputHelper output)
{
    [Fact]
    public void The_guard_decides_once_per_process_and_says_which_path_and_why()
    {
        var first = TorchNumerics.EnsureGuarded();
        var second = TorchNumerics.EnsureGuarded();
        output.WriteLine(first.Summary);
        Assert.Same(first, second);
        Assert.Contains(first.Cpu.ModelName, first.Summary, StringComparison.Ordinal);
        Assert.Equal(ConvolutionPathPolicy.Auto, first.Policy);
        Assert.NotNull(first.OneDnnRight);
        Assert.Equal(first.OneDnnRight == false, first.CanaryFailures.Count > 0);
    }

    [Fact]
    public void The_self_check_passes_through_the_paths_this_process_uses()
    {
        var report = TorchNumerics.Verify();
        output.WriteLine(report.Describe());
        Assert.True(report.Passed, report.Describe());
        // Convolutions in both dtypes, and GroupNorm, linear and attention, each forward and backward.
        Assert.Contains(report.Checks, c => c.Operation.StartsWith("conv2d", StringComparison.Ordinal) && c.Dtype == ScalarType.BFloat16);
        Assert.Contains(report.Checks, c => c.Operation.StartsWith("group_norm", StringComparison.Ordinal));
        Assert.Contains(report.Checks, c => c.Operation.StartsWith("linear", StringComparison.Ordinal));
        Assert.Contains(report.Checks, c => c.Operation.StartsWith("scaled_dot_product_attention", StringComparison.Ordinal));
        Assert.All(report.Checks, c => Assert.True(double.IsFinite(c.RelativeError), c.ToString()));
    }

    [Fact]
    public void On_a_faulty_cpu_only_the_wrong_shapes_are_routed_and_the_routed_result_matches_float64()
    {
        // A CPU whose oneDNN gets every 32 -> 4 convolution wrong (as conv_out layers were on Zen 5), and nothing else.
        static bool Faulty(ConvolutionShape s) => s.In == 32 && s.Out == 4;
        var wrongShape = new ConvolutionShape(2, 32, 4, 3, 1, 1, 12, 10);
        var rightShape = new ConvolutionShape(2, 16, 16, 3, 1, 1, 12, 10);
        try
        {
            TorchNumerics.SimulatedOneDnnFault = Faulty;
            TorchNumerics.ResetForTests(ConvolutionPathPolicy.Auto);
            var decision = TorchNumerics.EnsureGuarded();
            output.WriteLine(decision.Summary);
            Assert.False(decision.OneDnnRight);
            Assert.Contains(decision.CanaryFailures, f => f.Contains("32->4", StringComparison.Ordinal));
            Assert.Contains("WRONG", decision.Summary, StringComparison.Ordinal);

            Assert.Equal(ConvolutionRoute.Reference, TorchNumerics.RouteFor(wrongShape));
            Assert.Equal(ConvolutionRoute.Native, TorchNumerics.RouteFor(rightShape));
            // The fault family never takes oneDNN on a faulty CPU, even where a probe finds it right (on Zen 5 the wrong
            // results come and go, and shapes that passed their probes were wrong later): channel counts that are not
            // multiples of 16, and stride 2. Right under the simulated fault, routed all the same:
            Assert.Equal(ConvolutionRoute.Reference, TorchNumerics.RouteFor(new ConvolutionShape(2, 8, 16, 3, 1, 1, 12, 10)));
            Assert.Equal(ConvolutionRoute.Reference, TorchNumerics.RouteFor(new ConvolutionShape(2, 16, 3, 1, 1, 0, 12, 10)));
            Assert.Equal(ConvolutionRoute.Reference, TorchNumerics.RouteFor(new ConvolutionShape(2, 16, 16, 3, 2, 1, 12, 10)));
            Assert.Equal(ConvolutionRoute.Native, TorchNumerics.RouteFor(new ConvolutionShape(2, 32, 64, 1, 1, 0, 12, 10)));

            // The unrouted (simulated) kernel is wrong; the guarded call on the same shape is right, forward and backward.
            double raw = ConvolutionCheck.WorstError(wrongShape, (x, w, b) => TorchNumerics.NativeConv2d(x, w, b, 1, 1), 5);
            double guarded = ConvolutionCheck.WorstError(wrongShape, (x, w, b) => TorchNumerics.Conv2d(x, w, b, 1, 1), 5);
            double guardedBFloat16 = ConvolutionCheck.WorstError(wrongShape, (x, w, b) => TorchNumerics.Conv2d(x, w, b, 1, 1), 5, ScalarType.BFloat16);
            output.WriteLine($"simulated fault: raw {raw:E2}, guarded float32 {guarded:E2}, guarded bfloat16 {guardedBFloat16:E2}");
            Assert.True(raw > 0.1, $"the simulated fault should be visible on the raw path: {raw:E2}");
            Assert.True(guarded <= OpCheck.Float32Tolerance, $"guarded float32 error {guarded:E2}");
            Assert.True(guardedBFloat16 <= OpCheck.BFloat16Tolerance, $"guarded bfloat16 error {guardedBFloat16:E2}");

            // The self-check passes on the routed paths and lists the raw path's failure without failing on it.
            var sweep = TorchNumerics.Verify(NumericsCheckDepth.Sweep);
            Assert.True(sweep.Passed, sweep.Describe());
            Assert.Contains(sweep.Checks, c => c.Informational && !c.Passed && c.Operation.Contains("32->4", StringComparison.Ordinal));

            // The sweep checks shapes at 1 and 2 threads, and routes are decided per thread count: the list of checked shapes
            // holds a shape once per thread count, each entry once.
            var checkedShapes = TorchNumerics.CheckedShapes;
            Assert.Contains(checkedShapes, c => c.Shape.In == 32 && c.Shape.Out == 4 && c.Route == ConvolutionRoute.Reference);
            Assert.Contains(checkedShapes.GroupBy(c => c.Shape), g => g.Select(c => c.Threads).Distinct().Count() > 1);
            Assert.Equal(checkedShapes.Count, checkedShapes.Distinct().Count());
        }
        finally
        {
            TorchNumerics.SimulatedOneDnnFault = null;
            TorchNumerics.ResetForTests(null);
        }
    }

    [Fact]
    public void The_self_check_throws_naming_the_op_the_cpu_and_the_fix_when_the_path_in_use_is_wrong()
    {
        try
        {
            // Trusting oneDNN on a CPU where it is wrong: the self-check must refuse to go on.
            TorchNumerics.SimulatedOneDnnFault = s => s.In == 32 && s.Out == 4;
            TorchNumerics.ResetForTests(ConvolutionPathPolicy.OneDnn);
            var error = Assert.Throws<NumericsCheckException>(() => TorchNumerics.Verify());
            output.WriteLine(error.Message);
            Assert.Contains("32->4", error.Message, StringComparison.Ordinal);
            Assert.Contains(CpuDescription.Current.ModelName, error.Message, StringComparison.Ordinal);
            Assert.Contains($"{TorchNumerics.PolicyEnvironmentVariable}=reference", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            TorchNumerics.SimulatedOneDnnFault = null;
            TorchNumerics.ResetForTests(null);
        }
    }

    [Fact]
    public void The_environment_variable_sets_the_policy_and_a_wrong_value_is_refused_by_name()
    {
        var before = Environment.GetEnvironmentVariable(TorchNumerics.PolicyEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(TorchNumerics.PolicyEnvironmentVariable, "banana");
            TorchNumerics.ResetForTests(null);
            var error = Assert.Throws<ArgumentException>(() => TorchNumerics.EnsureGuarded());
            Assert.Contains(TorchNumerics.PolicyEnvironmentVariable, error.Message, StringComparison.Ordinal);
            Assert.Contains("banana", error.Message, StringComparison.Ordinal);

            Environment.SetEnvironmentVariable(TorchNumerics.PolicyEnvironmentVariable, "reference");
            TorchNumerics.ResetForTests(null);
            var decision = TorchNumerics.EnsureGuarded();
            Assert.Equal(ConvolutionPathPolicy.Reference, decision.Policy);
            Assert.Equal("environment", decision.PolicySource);
            Assert.Equal(ConvolutionRoute.Reference, TorchNumerics.RouteFor(new ConvolutionShape(1, 3, 8, 3, 2, 1, 8, 8)));
            double error64 = ConvolutionCheck.WorstError(new ConvolutionShape(1, 3, 8, 3, 2, 1, 8, 8), (x, w, b) => TorchNumerics.Conv2d(x, w, b, 2, 1), 9);
            Assert.True(error64 <= OpCheck.Float32Tolerance, $"reference path error {error64:E2}");
        }
        finally
        {
            Environment.SetEnvironmentVariable(TorchNumerics.PolicyEnvironmentVariable, before);
            TorchNumerics.ResetForTests(null);
        }
    }

    [Fact]
    public void Another_policy_after_the_decision_is_refused()
    {
        var decision = TorchNumerics.EnsureGuarded();
        TorchNumerics.Configure(decision.Policy); // the same policy is fine
        var other = decision.Policy == ConvolutionPathPolicy.Reference ? ConvolutionPathPolicy.OneDnn : ConvolutionPathPolicy.Reference;
        var error = Assert.Throws<InvalidOperationException>(() => TorchNumerics.Configure(other));
        Assert.Contains(TorchNumerics.PolicyEnvironmentVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_im2col_reference_matches_libtorchs_float64_convolution()
    {
        // float64 never runs oneDNN: libtorch's own float64 kernel is an independent check of the reference path.
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        foreach (var (k, s, p) in new[] { (3L, 1L, 1L), (3L, 2L, 0L), (1L, 1L, 0L), (2L, 2L, 0L) })
        {
            var x = randn([2, 5, 9, 7], dtype: ScalarType.Float64, generator: generator);
            var w = randn([4, 5, k, k], dtype: ScalarType.Float64, generator: generator);
            var b = randn([4], dtype: ScalarType.Float64, generator: generator);
            var expected = nn.functional.conv2d(x, w, b, [s, s], [p, p]);
            var actual = ReferenceConvolution.Conv2d(x, w, b, s, p);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True((expected - actual).abs().max().item<double>() < 1e-12, $"k{k} s{s} p{p}");
        }
    }

    [Fact]
    public void The_im2col_reference_in_batch_chunks_matches_libtorchs_float64_convolution_forward_and_backward()
    {
        // A column limit of 1.5 images makes chunks of one image over a batch of 5; float64 never runs oneDNN, so libtorch's
        // own kernel and autograd are an independent check of the chunked path and of its gradients through narrow and cat.
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var x = randn([5, 3, 6, 6], dtype: ScalarType.Float64, generator: generator).requires_grad_();
        var w = randn([4, 3, 3, 3], dtype: ScalarType.Float64, generator: generator).requires_grad_();
        var b = randn([4], dtype: ScalarType.Float64, generator: generator).requires_grad_();
        var upstream = randn([5, 4, 6, 6], dtype: ScalarType.Float64, generator: generator);
        var oneImageOfColumns = 3 * 3 * 3 * 6 * 6 * sizeof(double);

        var expected = nn.functional.conv2d(x, w, b, [1, 1], [1, 1]);
        var (gx, gw, gb) = Gradients(expected);
        var chunked = ReferenceConvolution.Conv2d(x, w, b, 1, 1, maximumColumnBytes: oneImageOfColumns * 3 / 2);
        var (cx, cw, cb) = Gradients(chunked);

        Assert.Equal(expected.shape, chunked.shape);
        Assert.True((expected - chunked).abs().max().item<double>() < 1e-12);
        Assert.True((gx - cx).abs().max().item<double>() < 1e-12);
        Assert.True((gw - cw).abs().max().item<double>() < 1e-12);
        Assert.True((gb - cb).abs().max().item<double>() < 1e-12);
        // The default limit keeps this small batch in one piece: the same values as the chunked path.
        Assert.True((ReferenceConvolution.Conv2d(x, w, b, 1, 1) - chunked).abs().max().item<double>() < 1e-12);

        (Tensor, Tensor, Tensor) Gradients(Tensor output)
        {
            var grads = autograd.grad([output], [x, w, b], [upstream]);
            return (grads[0], grads[1], grads[2]);
        }
    }
}
