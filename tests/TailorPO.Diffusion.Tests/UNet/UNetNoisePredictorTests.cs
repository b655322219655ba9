using TailorPO.Core.Errors;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.UNet;

/// <summary>The INoisePredictor wrapper casts in and out, so half-precision UNets serve float32 latents.</summary>
public class UNetNoisePredictorTests(UNetFixture fixture, ITestOutputHelper output) : IClassFixture<UNetFixture>
{
    [Fact]
    public void Float32_predictor_returns_the_unet_output()
    {
        var predictor = new UNetNoisePredictor(fixture.Model);
        foreach (var name in fixture.CaseNames)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var expected = fixture.Cases.Get(name, "expected");
            var eps = predictor.PredictNoise(fixture.Cases.Get(name, "sample"), fixture.Cases.Get(name, "timestep"), fixture.Cases.Get(name, "encoder_hidden_states"));
            TensorAssert.Close(expected, eps, UNetFixture.Tolerance(expected), what: name);
        }
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 8)]
    [InlineData(ScalarType.Float16, 11)]
    public void Half_precision_unet_serves_float32_latents(ScalarType dtype, int mantissaBits)
    {
        // Tolerance: 16 units of the half type's rounding (2^-mantissaBits) relative to the output scale;
        // the float32 fixture is computed ~1e-6 away from float64, so the half type's rounding dominates.
        double relativeTolerance = 16 * Math.Pow(2, -mantissaBits);
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder, dtype: dtype);
        var predictor = new UNetNoisePredictor(model);
        foreach (var name in fixture.CaseNames)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var expected = fixture.Cases.Get(name, "expected");
            var eps = predictor.PredictNoise(fixture.Cases.Get(name, "sample"), fixture.Cases.Get(name, "timestep"), fixture.Cases.Get(name, "encoder_hidden_states"));
            Assert.Equal(ScalarType.Float32, eps.dtype);
            var scale = expected.abs().max().item<float>();
            var error = TensorAssert.MaxAbsDifference(expected, eps);
            output.WriteLine($"{dtype} {name}: max |diff| {error:E3} (output scale {scale:F3})");
            Assert.True(error <= relativeTolerance * Math.Max(1, scale), $"{dtype} {name}: max |diff| {error:E3}");
        }
    }

    [Fact]
    public void Non_finite_predictions_are_refused_when_the_check_is_requested()
    {
        var predictor = new UNetNoisePredictor(fixture.Model, checkFinite: true);
        var name = fixture.CaseNames[0];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sample = fixture.Cases.Get(name, "sample").clone();
        sample[0, 0, 0, 0] = tensor(float.NaN);
        Assert.Throws<NonFiniteValueException>(() => predictor.PredictNoise(sample, fixture.Cases.Get(name, "timestep"), fixture.Cases.Get(name, "encoder_hidden_states")));
        Assert.Throws<ArgumentException>(() => predictor.PredictNoise(sample.to(ScalarType.Int64), fixture.Cases.Get(name, "timestep"), fixture.Cases.Get(name, "encoder_hidden_states")));
    }

    [Fact]
    public void The_default_predictor_reads_nothing_back_and_one_fused_check_finds_the_non_finite_prediction()
    {
        // Per-call checks cost a host read (a GPU synchronisation) per UNet call; by default the caller
        // checks a whole step once with ThrowIfAnyNonFinite, which names the offending tensor.
        var predictor = new UNetNoisePredictor(fixture.Model);
        Assert.False(predictor.CheckFinite);
        var name = fixture.CaseNames[0];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var timestep = fixture.Cases.Get(name, "timestep");
        var text = fixture.Cases.Get(name, "encoder_hidden_states");
        var finite = predictor.PredictNoise(fixture.Cases.Get(name, "sample"), timestep, text);
        var sample = fixture.Cases.Get(name, "sample").clone();
        sample[0, 0, 0, 0] = tensor(float.NaN);
        var eps = predictor.PredictNoise(sample, timestep, text);
        NonFiniteValueException.ThrowIfAnyNonFinite((finite, "the first prediction"));
        var ex = Assert.Throws<NonFiniteValueException>(() =>
            NonFiniteValueException.ThrowIfAnyNonFinite((finite, "the first prediction"), (eps, "the second prediction")));
        Assert.Equal("the second prediction", ex.What);
    }
}
