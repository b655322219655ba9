using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Vae;

/// <summary>
/// The latent decoder of the step-wise reward: images = clamp((decode(z / scaling_factor) + 1) / 2, 0, 1)
/// checked against the fixture decode, its gradient against finite differences, reduced precision,
/// sampling and input validation.
/// </summary>
public sealed class VaeLatentDecoderTests(ITestOutputHelper output) : IDisposable
{
    private readonly AutoencoderKL _vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder));
    private readonly FixtureCases _cases = FixtureCases.Load(VaeTestSupport.Folder, "cases.safetensors");

    public static IEnumerable<object[]> DecodeCases() => VaeTestSupport.CasesWith("latents");

    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void Images_are_the_clamped_rescaled_decode_of_the_unscaled_latents(string caseName)
    {
        using var scope = NewDisposeScope();
        ILatentDecoder decoder = new VaeLatentDecoder(_vae);
        // The fixture decodes unscaled latents; the UNet's latents are those times scaling_factor.
        var unetLatents = _cases.Get(caseName, "latents") * _vae.ScalingFactor;
        var images = decoder.DecodeToImages(unetLatents);
        var expected = ((_cases.Get(caseName, "expected_image") + 1) / 2).clamp(0, 1);
        Assert.Equal(ScalarType.Float32, images.dtype);
        Assert.True(images.min().item<float>() >= 0 && images.max().item<float>() <= 1);
        TensorAssert.Close(expected, images, 1e-4, what: "images");
    }

    [Fact]
    public void Slicing_the_batch_gives_the_same_images()
    {
        using var scope = NewDisposeScope();
        var caseName = (string)DecodeCases().First()[0];
        var fixtureLatents = _cases.Get(caseName, "latents") * _vae.ScalingFactor;
        var latents = cat([fixtureLatents, fixtureLatents * 0.5], 0);
        var whole = new VaeLatentDecoder(_vae).DecodeToImages(latents);
        var sliced = new VaeLatentDecoder(_vae, sliceBatch: true).DecodeToImages(latents);
        // Batch-size-dependent kernel blocking changes float32 rounding (~3e-6 seen); 1e-4 is the parity tolerance.
        TensorAssert.Close(whole, sliced, 1e-4, what: "sliced decode");
    }

    [Fact]
    public void Gradient_wrt_latents_matches_finite_differences()
    {
        using var scope = NewDisposeScope();
        using var vae64 = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder), ScalarType.Float64);
        var decoder = new VaeLatentDecoder(vae64);
        var caseName = (string)DecodeCases().First()[0];
        // Small latents keep the decoded pixels inside (0, 1), away from the clamp's kinks.
        var latents = (_cases.Get(caseName, "latents").to(ScalarType.Float64) * (0.2 * vae64.ScalingFactor)).detach().requires_grad_();
        var probe = decoder.DecodeToImages(latents.detach());
        var weights = randn(probe.shape, dtype: ScalarType.Float64, generator: new Generator(9));

        double Objective(Tensor z)
        {
            using var s = NewDisposeScope();
            return (decoder.DecodeToImages(z).to(ScalarType.Float64) * weights).sum().item<double>();
        }

        // DecodeToImages returns float32; compute the analytic gradient through a float64 copy of the same graph.
        var images = decoder.DecodeToImages(latents);
        var gradient = autograd.grad([(images.to(ScalarType.Float64) * weights).sum()], [latents])[0];
        var generator = new Generator(4);
        const double step = 1e-4;
        for (var k = 0; k < 4; k++)
        {
            var index = randint(0, latents.numel(), [1], generator: generator).item<long>();
            using var noGrad = no_grad();
            var plus = latents.detach().clone();
            var minus = latents.detach().clone();
            plus.view(-1)[index] += step;
            minus.view(-1)[index] -= step;
            var numeric = (Objective(plus) - Objective(minus)) / (2 * step);
            var analytic = gradient.view(-1)[index].item<double>();
            output.WriteLine($"latent {index}: analytic {analytic:G6}, numeric {numeric:G6}");
            Assert.True(Math.Abs(numeric - analytic) <= 2e-3 * Math.Max(1, Math.Abs(numeric)), $"latent {index}: analytic {analytic}, numeric {numeric}");
        }
    }

    [Theory]
    [MemberData(nameof(Parity.ReducedPrecisions), MemberType = typeof(Parity))]
    public void Reduced_precision_vae_stays_close_to_the_float32_reference(ScalarType dtype, double relativeTolerance)
    {
        using var scope = NewDisposeScope();
        using var vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder), dtype);
        foreach (var row in DecodeCases())
        {
            var name = (string)row[0];
            var image = vae.Decode(_cases.Get(name, "latents"));
            Assert.Equal(dtype, image.dtype);
            var expected = _cases.Get(name, "expected_image");
            var scale = Math.Max(1, expected.abs().max().item<float>());
            output.WriteLine($"{dtype} decode {name}: max|diff| {TensorAssert.MaxAbsDifference(expected, image):E2} (scale {scale:F2})");
            TensorAssert.Close(expected, image, relativeTolerance * scale, what: $"{dtype} {name}");

            var images = new VaeLatentDecoder(vae).DecodeToImages(_cases.Get(name, "latents") * vae.ScalingFactor);
            Assert.Equal(ScalarType.Float32, images.dtype);
        }
        foreach (var row in VaeTestSupport.CasesWith("image"))
        {
            var name = (string)row[0];
            using var posterior = vae.Encode(_cases.Get(name, "image"));
            var expected = _cases.Get(name, "expected_mean");
            var scale = Math.Max(1, expected.abs().max().item<float>());
            output.WriteLine($"{dtype} encode {name}: max|diff| {TensorAssert.MaxAbsDifference(expected, posterior.Mean):E2} (scale {scale:F2})");
            TensorAssert.Close(expected, posterior.Mean, relativeTolerance * scale, what: $"{dtype} {name} mean");
        }
    }

    [Fact]
    public void Sampling_with_a_generator_is_reproducible_and_uses_the_posterior()
    {
        using var scope = NewDisposeScope();
        var caseName = (string)VaeTestSupport.CasesWith("image").First()[0];
        using var posterior = _vae.Encode(_cases.Get(caseName, "image"));
        var a = posterior.Sample(new Generator(21));
        var b = posterior.Sample(new Generator(21));
        var noise = randn(posterior.Mean.shape, generator: new Generator(21));
        Assert.True(a.eq(b).all().item<bool>());
        TensorAssert.Close(posterior.Mean + posterior.Std * noise, a, 1e-6);
        Assert.True(posterior.Mode().eq(posterior.Mean).all().item<bool>());
    }

    [Fact]
    public void Non_finite_latents_are_refused_when_the_check_is_requested()
    {
        using var scope = NewDisposeScope();
        var latents = zeros(1, _vae.Config.LatentChannels, 4, 4);
        latents[0, 0, 1, 1] = tensor(float.NaN);
        Assert.Throws<NonFiniteValueException>(() => new VaeLatentDecoder(_vae, checkFinite: true).DecodeToImages(latents));
        Assert.Throws<NonFiniteValueException>(() => new VaeLatentDecoder(_vae, sliceBatch: true, checkFinite: true).DecodeToImages(latents));
        Assert.Throws<NonFiniteValueException>(() => _vae.Decode(latents));
        Assert.Throws<NonFiniteValueException>(() => _vae.Encode(full(1, _vae.Config.InChannels, 8, 8, float.PositiveInfinity)));
    }

    [Fact]
    public void The_default_decoder_reads_nothing_back_and_one_fused_check_finds_the_non_finite_images()
    {
        // The step-reward decoder runs every training step: by default it leaves the check to the caller's
        // single per-step NonFiniteValueException.ThrowIfAnyNonFinite, which names the offending tensor.
        using var scope = NewDisposeScope();
        var finite = zeros(1, _vae.Config.LatentChannels, 4, 4);
        var latents = finite.clone();
        latents[0, 0, 1, 1] = tensor(float.NaN);
        var decoder = new VaeLatentDecoder(_vae);
        Assert.False(decoder.CheckFinite);
        var good = decoder.DecodeToImages(finite);
        var images = decoder.DecodeToImages(latents);
        var ex = Assert.Throws<NonFiniteValueException>(() =>
            NonFiniteValueException.ThrowIfAnyNonFinite((good, "the finite images"), (null, "an absent tensor"), (images, "the decoded images")));
        Assert.Equal("the decoded images", ex.What);
        NonFiniteValueException.ThrowIfAnyNonFinite((good, "the finite images"), (finite, "the finite latents"));
    }

    [Fact]
    public void Wrong_shapes_and_types_are_refused_with_the_argument_named()
    {
        using var scope = NewDisposeScope();
        var c = _vae.Config;
        Assert.Equal("latents", Assert.Throws<ArgumentException>(() => _vae.Decode(zeros(1, c.LatentChannels + 1, 4, 4))).ParamName);
        Assert.Equal("latents", Assert.Throws<ArgumentException>(() => _vae.Decode(zeros(c.LatentChannels, 4, 4))).ParamName);
        Assert.Equal("latents", Assert.Throws<ArgumentException>(() => _vae.Decode(zeros(1, c.LatentChannels, 4, 4, dtype: ScalarType.Int64))).ParamName);
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => _vae.Encode(zeros(1, 1, 8, 8))).ParamName);
        Assert.Equal("latents", Assert.Throws<ArgumentException>(() => new VaeLatentDecoder(_vae).DecodeToImages(zeros(1, c.LatentChannels, 4, 4, dtype: ScalarType.Int32))).ParamName);
    }

    public void Dispose()
    {
        _vae.Dispose();
        _cases.Dispose();
    }
}
