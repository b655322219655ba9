using TailorPO.Diffusion.Clip;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>
/// Activations against closed forms, gradients against finite differences, and the reduced
/// precision paths (bf16/fp16 weights) against the float32 fixture.
/// </summary>
public sealed class ClipNumericsTests(ITestOutputHelper output)
{
    private static readonly double[] Points = [-4.0, -1.5, -0.3, 0.0, 0.2, 1.0, 2.5, 6.0];

    [Fact]
    public void Quick_gelu_is_x_times_sigmoid_of_1_702_x()
    {
        using var scope = NewDisposeScope();
        var actual = ClipActivation.Apply("quick_gelu", tensor(Points, ScalarType.Float64)).data<double>().ToArray();
        for (var i = 0; i < Points.Length; i++)
            Assert.Equal(Points[i] / (1 + Math.Exp(-1.702 * Points[i])), actual[i], 12);
    }

    [Fact]
    public void Gelu_is_x_times_the_normal_cdf()
    {
        using var scope = NewDisposeScope();
        var actual = ClipActivation.Apply("gelu", tensor(Points, ScalarType.Float64)).data<double>().ToArray();
        for (var i = 0; i < Points.Length; i++)
            Assert.Equal(Points[i] * NormalCdf(Points[i]), actual[i], 9);
    }

    [Fact]
    public void Gelu_new_is_the_tanh_approximation()
    {
        using var scope = NewDisposeScope();
        var actual = ClipActivation.Apply("gelu_new", tensor(Points, ScalarType.Float64)).data<double>().ToArray();
        for (var i = 0; i < Points.Length; i++)
        {
            var x = Points[i];
            var expected = 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            Assert.Equal(expected, actual[i], 12);
        }
    }

    [Fact]
    public void An_unknown_activation_is_rejected_with_the_supported_names()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => ClipActivation.Apply("mish", zeros(1)));
        Assert.Contains("quick_gelu", error.Message);
    }

    /// <summary>Phi(x) by the composite Simpson rule on the density (independent of any erf).</summary>
    private static double NormalCdf(double x)
    {
        const int n = 20000;
        double lo = -12, h = (x - lo) / n, sum = 0;
        for (var i = 0; i <= n; i++)
        {
            var t = lo + i * h;
            var w = i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2;
            sum += w * Math.Exp(-0.5 * t * t);
        }
        return sum * h / 3 / Math.Sqrt(2 * Math.PI);
    }

    [Fact]
    public void Image_embeds_gradient_wrt_pixels_matches_finite_differences()
    {
        using var scope = NewDisposeScope();
        using var model = CLIPVisionModelWithProjection.FromPretrained(FixtureRoot.Combine(ClipTestSupport.VisionFolder), ScalarType.Float64);
        using var cases = FixtureCases.Load(ClipTestSupport.VisionFolder, "cases.safetensors");
        var pixels = cases.Get(cases.CaseNames()[0], "pixel_values").to(ScalarType.Float64).detach().requires_grad_();
        var weights = randn(model.Config.ProjectionDim, dtype: ScalarType.Float64, generator: new Generator(11));

        Tensor Objective(Tensor p) => (model.forward(p) * weights).sum();
        var gradient = autograd.grad([Objective(pixels)], [pixels])[0];

        var flatCount = pixels.numel();
        var generator = new Generator(5);
        const double step = 1e-5;
        for (var k = 0; k < 6; k++)
        {
            var index = randint(0, flatCount, [1], generator: generator).item<long>();
            using var noGrad = no_grad();
            var plus = pixels.detach().clone();
            var minus = pixels.detach().clone();
            plus.view(-1)[index] += step;
            minus.view(-1)[index] -= step;
            var numeric = (Objective(plus).item<double>() - Objective(minus).item<double>()) / (2 * step);
            var analytic = gradient.view(-1)[index].item<double>();
            Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                $"pixel {index}: analytic {analytic}, numeric {numeric}");
        }
    }

    [Fact]
    public void Text_last_hidden_state_gradient_wrt_weights_is_finite_and_nonzero()
    {
        using var scope = NewDisposeScope();
        using var model = CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.TextFolder));
        using var cases = FixtureCases.Load(ClipTestSupport.TextFolder, "cases.safetensors");
        model.train();
        var loss = model.forward(cases.Get(cases.CaseNames()[0], "input_ids")).square().mean();
        loss.backward();
        var named = model.named_parameters().ToList();
        Assert.All(named, p => Assert.True(p.parameter.grad is not null && p.parameter.grad.isfinite().all().item<bool>(), p.name));
        Assert.True(named.First(p => p.name.EndsWith("layers.0.self_attn.q_proj.weight", StringComparison.Ordinal)).parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Theory]
    [MemberData(nameof(Parity.ReducedPrecisions), MemberType = typeof(Parity))]
    public void Reduced_precision_text_encoder_stays_close_to_the_float32_reference(ScalarType dtype, double relativeTolerance)
    {
        using var scope = NewDisposeScope();
        using var model = CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.TextFolder), dtype);
        using var cases = FixtureCases.Load(ClipTestSupport.TextFolder, "cases.safetensors");
        foreach (var name in cases.CaseNames())
        {
            using var result = model.Encode(cases.Get(name, "input_ids"));
            Assert.Equal(dtype, result.LastHiddenState.dtype);
            var expected = cases.Get(name, "expected_last_hidden_state");
            var scale = Math.Max(1, expected.abs().max().item<float>());
            output.WriteLine($"{dtype} {name}: max|diff| {TensorAssert.MaxAbsDifference(expected, result.LastHiddenState):E2} (scale {scale:F2})");
            TensorAssert.Close(expected, result.LastHiddenState, relativeTolerance * scale, what: $"{dtype} {name}");
        }
    }

    [Theory]
    [MemberData(nameof(Parity.ReducedPrecisions), MemberType = typeof(Parity))]
    public void Reduced_precision_vision_encoder_stays_close_to_the_float32_reference(ScalarType dtype, double relativeTolerance)
    {
        using var scope = NewDisposeScope();
        using var model = CLIPVisionModelWithProjection.FromPretrained(FixtureRoot.Combine(ClipTestSupport.VisionFolder), dtype);
        using var cases = FixtureCases.Load(ClipTestSupport.VisionFolder, "cases.safetensors");
        foreach (var name in cases.CaseNames())
        {
            var embeds = model.forward(cases.Get(name, "pixel_values"));
            Assert.Equal(dtype, embeds.dtype);
            var expected = cases.Get(name, "image_embeds");
            var scale = Math.Max(1, expected.abs().max().item<float>());
            output.WriteLine($"{dtype} {name}: max|diff| {TensorAssert.MaxAbsDifference(expected, embeds):E2} (scale {scale:F2})");
            TensorAssert.Close(expected, embeds, relativeTolerance * scale, what: $"{dtype} {name}");
        }
    }
}
