using System.Text.Json;
using TailorPO.Core.Errors;
using TailorPO.Core.Schedules;
using TailorPO.TestUtilities;

namespace TailorPO.Core.Tests.Schedules;

public class SchedulerConfigTests
{
    private static string FixtureConfigPath => FixtureRoot.Combine("ddim", "scheduler_config.json");

    [Fact]
    public void Fixture_config_is_read_with_every_value_the_file_holds()
    {
        var config = SchedulerConfig.FromFile(FixtureConfigPath);
        using var json = JsonDocument.Parse(File.ReadAllText(FixtureConfigPath));
        var root = json.RootElement;

        Assert.Equal(root.GetProperty("num_train_timesteps").GetInt32(), config.NumTrainTimesteps);
        Assert.Equal(root.GetProperty("beta_start").GetDouble(), config.BetaStart);
        Assert.Equal(root.GetProperty("beta_end").GetDouble(), config.BetaEnd);
        Assert.Equal(root.GetProperty("steps_offset").GetInt32(), config.StepsOffset);
        Assert.Equal(root.GetProperty("set_alpha_to_one").GetBoolean(), config.SetAlphaToOne);
        Assert.Equal(root.GetProperty("clip_sample").GetBoolean(), config.ClipSample);
        Assert.Equal(root.GetProperty("prediction_type").GetString(), config.PredictionType);
        Assert.Equal(root.GetProperty("beta_schedule").GetString(), SnakeCase(config.BetaSchedule));
        Assert.Equal(root.GetProperty("timestep_spacing").GetString(), config.TimestepSpacing.ToString().ToLowerInvariant());
        Assert.Equal(Path.GetFullPath(FixtureConfigPath), config.Source);
    }

    [Fact]
    public void Missing_keys_take_the_diffusers_DDIMScheduler_defaults()
    {
        var config = SchedulerConfig.Parse("{}");
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal(0.0001, config.BetaStart);
        Assert.Equal(0.02, config.BetaEnd);
        Assert.Equal(BetaSchedule.Linear, config.BetaSchedule);
        Assert.True(config.ClipSample);
        Assert.True(config.SetAlphaToOne);
        Assert.Equal(0, config.StepsOffset);
        Assert.Equal(TimestepSpacing.Leading, config.TimestepSpacing);
    }

    [Fact]
    public void Unknown_beta_schedule_names_the_key_and_the_file()
    {
        var path = WriteTemp("""{ "beta_schedule": "sigmoid" }""");
        var e = Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.FromFile(path));
        Assert.Equal("beta_schedule", e.Key);
        Assert.Contains(path, e.Message);
        Assert.Contains("sigmoid", e.Message);
    }

    [Theory]
    [InlineData("v_prediction")]
    [InlineData("sample")]
    public void Prediction_types_other_than_epsilon_are_rejected_naming_the_key_and_file(string type)
    {
        var path = WriteTemp($$"""{ "prediction_type": "{{type}}" }""");
        var e = Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.FromFile(path));
        Assert.Equal("prediction_type", e.Key);
        Assert.Contains(path, e.Message);
        Assert.Contains(type, e.Message);
    }

    [Theory]
    [InlineData("""{ "beta_start": "small" }""", "beta_start")]
    [InlineData("""{ "num_train_timesteps": 10.5 }""", "num_train_timesteps")]
    [InlineData("""{ "set_alpha_to_one": 1 }""", "set_alpha_to_one")]
    [InlineData("""{ "timestep_spacing": "karras" }""", "timestep_spacing")]
    [InlineData("""{ "thresholding": true }""", "thresholding")]
    [InlineData("""{ "rescale_betas_zero_snr": true }""", "rescale_betas_zero_snr")]
    [InlineData("""{ "num_train_timesteps": 4, "trained_betas": [0.1, 0.2] }""", "trained_betas")]
    [InlineData("""{ "beta_end": 1.5 }""", "beta_end")]
    public void Unusable_values_are_rejected_naming_the_key(string json, string key)
    {
        var e = Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.Parse(json, "test.json"));
        Assert.Equal(key, e.Key);
        Assert.Contains("test.json", e.Message);
    }

    [Fact]
    public void Malformed_json_and_missing_files_give_clear_errors()
    {
        var e = Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.Parse("{ not json", "broken.json"));
        Assert.Contains("broken.json", e.Message);
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "scheduler_config.json");
        var notFound = Assert.Throws<FileNotFoundException>(() => SchedulerConfig.FromFile(missing));
        Assert.Contains(missing, notFound.Message);
    }

    private static string SnakeCase(BetaSchedule schedule) => schedule switch
    {
        BetaSchedule.Linear => "linear",
        BetaSchedule.ScaledLinear => "scaled_linear",
        BetaSchedule.SquaredCosCapV2 => "squaredcos_cap_v2",
        _ => throw new ArgumentOutOfRangeException(nameof(schedule)),
    };

    private static string WriteTemp(string json)
    {
        var dir = Path.Combine(Path.GetTempPath(), "tailorpo-core-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "scheduler_config.json");
        File.WriteAllText(path, json);
        return path;
    }
}
