using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Vae;

/// <summary>
/// The VAE reproduces diffusers 0.21's AutoencoderKL on every case of the <c>vae/</c> fixture:
/// decode (with its intermediate outputs) and encode (posterior mean, clamped log-variance, std,
/// a sample with given noise, the scaled sample; the mean is the first half of the moments).
/// </summary>
public sealed class AutoencoderKLParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly AutoencoderKL _vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder));
    private readonly FixtureCases _cases = FixtureCases.Load(VaeTestSupport.Folder, "cases.safetensors");

    public static IEnumerable<object[]> DecodeCases() => VaeTestSupport.CasesWith("latents");

    public static IEnumerable<object[]> EncodeCases() => VaeTestSupport.CasesWith("image");

    [Fact]
    public void The_fixture_has_decode_and_encode_cases()
    {
        Assert.NotEmpty(DecodeCases());
        Assert.NotEmpty(EncodeCases());
    }

    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void Decode_matches_diffusers(string caseName)
    {
        using var scope = NewDisposeScope();
        var debug = new Dictionary<string, Tensor>();
        var image = _vae.DecodeWithDiagnostics(_cases.Get(caseName, "latents"), debug);
        foreach (var (name, actual) in debug)
        {
            var field = $"debug.{name}";
            if (!_cases.Has($"{caseName}.{field}")) continue;
            var expectedStage = _cases.Get(caseName, field);
            TensorAssert.Close(expectedStage, actual, Parity.Atol(expectedStage), what: field);
        }
        var expected = _cases.Get(caseName, "expected_image");
        output.WriteLine($"{caseName}: image max|diff| {TensorAssert.MaxAbsDifference(expected, image):E2}");
        TensorAssert.Close(expected, image, Parity.Atol(expected), what: "expected_image");
        TensorAssert.Close(expected, _vae.Decode(_cases.Get(caseName, "latents")), Parity.Atol(expected), what: "Decode");
    }

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void Encode_matches_diffusers_posterior(string caseName)
    {
        using var scope = NewDisposeScope();
        using var posterior = _vae.Encode(_cases.Get(caseName, "image"));
        var checks = new List<(string Field, Tensor Actual)>
        {
            ("expected_mean", posterior.Mean),
            ("expected_logvar", posterior.LogVar),
            ("expected_std", posterior.Std),
        };
        if (_cases.Has($"{caseName}.noise"))
        {
            var sample = posterior.Sample(_cases.Get(caseName, "noise"));
            checks.Add(("expected_sample", sample));
            checks.Add(("expected_scaled_sample", sample * _vae.ScalingFactor));
        }

        foreach (var (field, actual) in checks)
        {
            if (!_cases.Has($"{caseName}.{field}")) continue;
            var expected = _cases.Get(caseName, field);
            output.WriteLine($"{caseName}.{field}: max|diff| {TensorAssert.MaxAbsDifference(expected, actual):E2}");
            TensorAssert.Close(expected, actual, Parity.Atol(expected), what: field);
        }
    }

    public void Dispose()
    {
        _vae.Dispose();
        _cases.Dispose();
    }
}
