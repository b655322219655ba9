using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Tests.Support;
using TailorPO.TestUtilities;

namespace TailorPO.Core.Tests.Options;

public class OptionsAndDependencyInjectionTests
{
    [Fact]
    public void Defaults_are_the_papers_settings()
    {
        var o = new TailorPOCoreOptions();
        Assert.Equal(20, o.Sampling.InferenceSteps);
        Assert.Equal(1.0, o.Sampling.Eta);
        Assert.Equal(5.0, o.Sampling.GuidanceScale);
        Assert.Equal(0.1, o.Loss.Beta);
        Assert.Equal(0.1, o.Loss.D3poClampEpsilon);
        Assert.Equal(5000, o.Loss.DiffusionDpoBeta);
        Assert.Equal(PreferenceLossKind.TailorPO, o.Loss.Kind);
        Assert.Equal(5, o.Finetune.TrainedSteps);
        Assert.Equal(1e-4, o.Ddpo.ClipRange);
        Assert.Equal(5, o.Ddpo.AdvantageClip);
        Assert.True(new TailorPOCoreOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void Finetune_steps_are_uniformly_spaced_from_the_first_step()
    {
        Assert.Equal([0, 4, 8, 12, 16], new FinetuneOptions { TrainedSteps = 5 }.SelectStepIndices(20));
        Assert.Equal([0], new FinetuneOptions { TrainedSteps = 1 }.SelectStepIndices(20));
        Assert.Equal(Enumerable.Range(0, 20), new FinetuneOptions { TrainedSteps = 20 }.SelectStepIndices(20));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FinetuneOptions { TrainedSteps = 21 }.SelectStepIndices(20));
    }

    [Fact]
    public void Validator_reports_every_broken_knob_by_its_path()
    {
        var o = new TailorPOCoreOptions();
        o.Sampling.Eta = 0;
        o.Sampling.InferenceSteps = 10;
        o.Finetune.TrainedSteps = 11;
        o.Loss.Beta = -1;
        o.Loss.D3poClampEpsilon = 1.5;
        o.Loss.DiffusionDpoBeta = 0;
        o.Ddpo.StatMinCount = 17;
        o.Schedule.SchedulerConfigPath = "/no/such/scheduler_config.json";

        var result = new TailorPOCoreOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        foreach (var path in new[] { "Sampling.Eta", "Finetune.TrainedSteps", "Loss.Beta", "Loss.D3poClampEpsilon", "Loss.DiffusionDpoBeta", "Ddpo.StatMinCount", "Schedule.SchedulerConfigPath" })
            Assert.Contains(failures, f => f.Contains(path, StringComparison.Ordinal));
    }

    [Fact]
    public void Group_validators_check_their_own_options()
    {
        Assert.True(new SamplingOptionsValidator().Validate(null, new SamplingOptions { Eta = 1.2 }).Failed);
        Assert.True(new SamplingOptionsValidator().Validate(null, new SamplingOptions { InferenceSteps = 0 }).Failed);
        Assert.True(new PreferenceLossOptionsValidator().Validate(null, new PreferenceLossOptions { TailorPOClampEpsilon = 0 }).Failed);
        Assert.True(new DdpoOptionsValidator().Validate(null, new DdpoOptions { ClipRange = 0 }).Failed);
        Assert.True(new SamplingOptionsValidator().Validate(null, new SamplingOptions()).Succeeded);
    }

    [Fact]
    public void AddTailorPOCore_resolves_schedule_losses_and_the_selected_loss()
    {
        var services = new ServiceCollection();
        services.AddTailorPOCore(o =>
        {
            o.Loss.Kind = PreferenceLossKind.D3po;
            o.Loss.Beta = 0.2;
            o.Sampling.InferenceSteps = 10;
            o.Schedule.SchedulerConfigPath = FixtureRoot.Combine("ddim", "scheduler_config.json");
        });
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IStartupValidator>().Validate();

        var schedule = provider.GetRequiredService<NoiseSchedule>();
        Assert.Equal(Path.GetFullPath(FixtureRoot.Combine("ddim", "scheduler_config.json")), schedule.Config.Source);
        Assert.Equal(10, provider.GetRequiredService<DdimTimesteps>().Count);
        Assert.NotNull(provider.GetRequiredService<DdimStepMath>());

        var selected = provider.GetRequiredService<IPairwiseLoss>();
        var d3po = Assert.IsType<D3poLoss>(selected);
        Assert.Equal(0.2, d3po.Beta);
        Assert.Same(d3po, provider.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.D3po));
        Assert.IsType<TailorPOLoss>(provider.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.TailorPO));
        Assert.IsType<DpoLoss>(provider.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.Dpo));
        Assert.Equal(5000, Assert.IsType<DiffusionDpoLoss>(provider.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.DiffusionDpo)).Beta);
        Assert.Equal(1e-4, provider.GetRequiredService<DdpoClipObjective>().ClipRange);
        Assert.NotSame(provider.GetRequiredService<PerPromptStatTracker>(), provider.GetRequiredService<PerPromptStatTracker>());
    }

    [Fact]
    public void Sampler_resolves_over_the_hosts_noise_predictor()
    {
        using var predictor = new CountingNoisePredictor();
        var services = new ServiceCollection();
        services.AddSingleton<INoisePredictor>(predictor);
        services.AddTailorPOCore();
        using var provider = services.BuildServiceProvider();
        var sampler = Assert.IsType<DdimSampler>(provider.GetRequiredService<ISampler>());
        Assert.Equal(20, sampler.Timesteps.Count);
        Assert.Equal(951, sampler.Timesteps[0]);
        Assert.Equal(1.0, sampler.Eta);
    }

    [Fact]
    public void Invalid_options_fail_at_start_with_the_knob_named()
    {
        var services = new ServiceCollection();
        services.AddTailorPOCore(o => o.Sampling.Eta = 0);
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Sampling.Eta", e.Message);
    }
}
