using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests.CustomMethods;

/// <summary>
/// The trainer is open to methods the package does not know: one registered from outside through
/// <c>AddMethod</c> trains, resumes bit-identically, has its own checks run at start, and an unknown name is
/// refused naming the registered ones.
/// </summary>
public sealed class CustomMethodTests : IDisposable
{
    private const string Name = "best-vs-worst";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-custom-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static TrainerSetup Setup(Action<TailorPOTrainingOptions> configure) => new(Name, o =>
    {
        o.Candidates = 3;
        configure(o);
    }, moreServices: services => new OptionsBuilder<TailorPOTrainingOptions>(services, Microsoft.Extensions.Options.Options.DefaultName).AddMethod(Name, sp => new BestVersusWorstMethod(sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.Dpo))));

    [Fact]
    public void A_method_registered_from_outside_trains_and_resumes_bit_identically()
    {
        float[] uninterrupted;
        List<TrainingStepMetrics> rows = [];
        using (var setup = Setup(o => o.SampleBudget = 8))
        using (var trainer = setup.CreateTrainer())
        {
            var before = setup.AdapterValues();
            var report = trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));
            uninterrupted = setup.AdapterValues();
            Assert.Equal(Name, report.Method);
            Assert.Equal(8, report.Samples);
            Assert.NotEqual(before, uninterrupted);
            Assert.All(rows, r => Assert.False(r.Skipped));
            Assert.All(rows, r => Assert.True(r.PreferredReward >= r.DispreferredReward, $"best {r.PreferredReward} < worst {r.DispreferredReward}"));
        }

        using (var setup = Setup(o => (o.SampleBudget, o.CheckpointDirectory) = (4, _folder)))
        using (var trainer = setup.CreateTrainer())
            trainer.Train();
        using (var setup = Setup(o => o.SampleBudget = 8))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.ResumeFrom(Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName));
            trainer.Train();
            Assert.Equal(uninterrupted, setup.AdapterValues());
        }
    }

    [Fact]
    public void The_methods_own_checks_run_at_start()
    {
        using var setup = Setup(o => (o.Candidates, o.D3poSameInitialNoise) = (2, false));
        var error = Assert.Throws<ArgumentException>(() => setup.CreateTrainer());
        Assert.Contains("best-vs-worst ranks K > 2 candidates", error.Message);
        Assert.Contains("D3poSameInitialNoise = False does not apply to best-vs-worst", error.Message);
    }

    [Fact]
    public void An_unregistered_method_name_is_refused_naming_the_registered_ones()
    {
        using var setup = new TrainerSetup("spo");
        var error = Assert.Throws<InvalidOperationException>(() => setup.CreateTrainer());
        Assert.Contains("'spo' names no registered method", error.Message);
        foreach (var name in TrainingMethods.BuiltIn) Assert.Contains(name, error.Message);
    }

    [Fact]
    public void A_loss_kind_that_does_not_fit_the_method_is_refused()
    {
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, moreServices: s => s.Configure<TailorPO.Core.Options.TailorPOCoreOptions>(o => o.Loss.Kind = TailorPO.Core.Options.PreferenceLossKind.DiffusionDpo));
        var error = Assert.Throws<ArgumentException>(() => setup.CreateTrainer());
        Assert.Contains("Loss.Kind = DiffusionDpo does not apply to tailorpo", error.Message);
    }
}
