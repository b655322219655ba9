using Microsoft.Extensions.DependencyInjection;
using TailorPO.Training.Checkpoints;
using TailorPO.Training.Guarding;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// The reward-hacking guard: a scripted gold metric (gold and proxy as functions of the images so far) stands in for a
/// held-out measurer; it records the adapters it saw at every reading so a test can check which ones were restored.
/// </summary>
public sealed class GoldMetricGuardTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "tailorpo-guard-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Gold rises to 0.3 at 8 images, then falls by <paramref name="drop"/> per reading; the proxy always rises.</summary>
    private static Func<long, (double Gold, double Proxy)> HackableProxy(double drop) =>
        images => (images <= 8 ? 0.1 + images / 40.0 : 0.3 - drop * ((images - 8) / 4), 1.0 + images / 10.0);

    private static (TrainerSetup Setup, ScriptedGoldMetric Metric, RecordingSink Sink) Guarded(Func<long, (double, double)> script,
        Action<TailorPOTrainingOptions>? configure = null)
    {
        var metric = new ScriptedGoldMetric(script);
        var sink = new RecordingSink();
        var setup = new TrainerSetup(TrainingMethods.TailorPO, o =>
        {
            o.SampleBudget = 24;
            o.GoldMetricGuard.EveryImages = 4;
            configure?.Invoke(o);
        }, moreServices: s => s.AddSingleton<IGoldMetric>(metric).AddSingleton<IGoldMetricSink>(sink));
        metric.ReadAdapters = setup.AdapterValues;
        return (setup, metric, sink);
    }

    private static float[] Unguarded(int budget = 24)
    {
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.SampleBudget = budget);
        using var trainer = setup.CreateTrainer();
        trainer.Train();
        return setup.AdapterValues();
    }

    [Fact]
    public void The_guard_stops_when_the_proxy_rises_while_the_gold_falls_for_patience_readings_and_restores_the_best_adapters()
    {
        var (setup, metric, sink) = Guarded(HackableProxy(drop: 0.05));
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            var report = trainer.Train();

            // Readings at 0 (baseline), 4, 8 (best: 0.3), 12 (0.25, diverging), 16 (0.2, second in a row: stop).
            Assert.Equal([0L, 4, 8, 12, 16], metric.Seen.Select(s => s.Images));
            Assert.Equal(16, report.Samples);
            var guard = Assert.IsType<GoldMetricGuardSummary>(report.GoldMetricGuard);
            Assert.True(guard.StoppedEarly);
            Assert.True(guard.RestoredBest);
            Assert.Equal(5, guard.Evaluations);
            Assert.Equal(8, guard.BestImages);
            Assert.Equal(0.3, guard.BestGold, 12);
            Assert.Contains("proxy rose while the gold fell for 2 evaluations in a row", guard.StopReason);
            Assert.Equal([GoldMetricEvent.Baseline, GoldMetricEvent.NewBest, GoldMetricEvent.NewBest, GoldMetricEvent.Diverging,
                GoldMetricEvent.Stopped, GoldMetricEvent.RestoredBest], guard.History.Select(e => e.Event));
            // The adapters are exactly those the metric read at 8 images.
            Assert.Equal(metric.Seen.Single(s => s.Images == 8).Adapters, setup.AdapterValues());
            Assert.NotEqual(metric.Seen.Single(s => s.Images == 16).Adapters, setup.AdapterValues());
            // The drift proxy sits next to each reading after the first update.
            Assert.True(double.IsNaN(guard.History[0].LogRatioDrift));
            Assert.All(guard.History.Skip(1), e => Assert.True(double.IsFinite(e.LogRatioDrift) && double.IsFinite(e.LogRatioMargin)));
            Assert.Equal(guard.History, sink.Last);
        }
        var csv = CsvGoldMetricSink.Format(sink.Last!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("images,iteration,proxy,proxy_se,gold,gold_se,best_gold,best_images,streak,log_ratio_margin,log_ratio_drift,event", csv[0]);
        Assert.EndsWith(",stopped", csv[5]);
        Assert.EndsWith(",restored-best", csv[6]);
    }

    [Fact]
    public void The_guard_never_fires_while_the_gold_rises_and_leaves_the_training_bit_identical()
    {
        var (setup, metric, _) = Guarded(images => (images / 100.0, 1.0 + images / 10.0));
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            var report = trainer.Train();
            Assert.Equal(24, report.Samples);
            Assert.Equal([0L, 4, 8, 12, 16, 20, 24], metric.Seen.Select(s => s.Images));
            Assert.False(report.GoldMetricGuard!.StoppedEarly);
            Assert.False(report.GoldMetricGuard.RestoredBest);
            Assert.Equal(24, report.GoldMetricGuard.BestImages);
            Assert.Equal(Unguarded(), setup.AdapterValues());
        }
    }

    [Fact]
    public void Guard_off_never_reads_the_metric_and_trains_exactly_as_without_it()
    {
        var (setup, metric, sink) = Guarded(HackableProxy(drop: 0.05), o => o.GoldMetricGuard.EveryImages = 0);
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            var report = trainer.Train();
            Assert.Empty(metric.Seen);
            Assert.Null(sink.Last);
            Assert.Null(report.GoldMetricGuard);
            Assert.Equal(Unguarded(), setup.AdapterValues());
        }
    }

    [Fact]
    public void Drops_within_the_tolerance_do_not_count_as_falling_and_the_end_restores_only_beyond_it()
    {
        // Gold falls 0.01 per reading after 8 images: 0.29, 0.28, 0.27, 0.26 at 24.
        var (setup, metric, _) = Guarded(HackableProxy(drop: 0.01), o => o.GoldMetricGuard.Tolerance = 0.015);
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            var guard = trainer.Train().GoldMetricGuard!;
            Assert.False(guard.StoppedEarly);
            Assert.Equal(24, metric.Seen[^1].Images);
            // 0.26 < 0.3 - 0.015: the best adapters come back at the end.
            Assert.True(guard.RestoredBest);
            Assert.Equal(metric.Seen.Single(s => s.Images == 8).Adapters, setup.AdapterValues());
        }

        (setup, metric, _) = Guarded(HackableProxy(drop: 0.01), o => o.GoldMetricGuard.Tolerance = 0.05);
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            var guard = trainer.Train().GoldMetricGuard!;
            Assert.False(guard.StoppedEarly);
            Assert.False(guard.RestoredBest); // 0.26 is within 0.05 of the best
            Assert.Equal(metric.Seen[^1].Adapters, setup.AdapterValues());
        }

        (setup, _, _) = Guarded(HackableProxy(drop: 0.01));
        using (setup)
        using (var trainer = setup.CreateTrainer())
            Assert.True(trainer.Train().GoldMetricGuard!.StoppedEarly); // no tolerance: the same drops stop it at 16
    }

    [Fact]
    public void RestoreBest_false_stops_without_restoring()
    {
        var (setup, metric, _) = Guarded(HackableProxy(drop: 0.05), o => o.GoldMetricGuard.RestoreBest = false);
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            var guard = trainer.Train().GoldMetricGuard!;
            Assert.True(guard.StoppedEarly);
            Assert.False(guard.RestoredBest);
            Assert.Equal(metric.Seen[^1].Adapters, setup.AdapterValues());
        }
    }

    [Fact]
    public void Options_validation_names_each_bad_guard_knob_and_a_missing_metric()
    {
        var options = new TailorPOTrainingOptions { LatentShape = [3, 4, 4] };
        options.GoldMetricGuard.EveryImages = -1;
        options.GoldMetricGuard.Patience = 0;
        options.GoldMetricGuard.Tolerance = double.NaN;
        var failures = TailorPOTrainingOptionsValidator.Check(options).ToList();
        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, f => f.Contains("TailorPOTrainingOptions.GoldMetricGuard.EveryImages must be >= 0"));
        Assert.Contains(failures, f => f.Contains("TailorPOTrainingOptions.GoldMetricGuard.Patience must be >= 1"));
        Assert.Contains(failures, f => f.Contains("TailorPOTrainingOptions.GoldMetricGuard.Tolerance must be finite and >= 0"));

        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.GoldMetricGuard.EveryImages = 4);
        var error = Assert.Throws<ArgumentException>(() => setup.CreateTrainer());
        Assert.Contains("GoldMetricGuard.EveryImages = 4 needs an IGoldMetric", error.Message);
    }

    [Fact]
    public void A_cancelled_guarded_run_resumes_with_its_history_and_best_adapters_and_ends_identically()
    {
        float[] uninterrupted;
        GoldMetricGuardSummary expected;
        var (setup, _, _) = Guarded(HackableProxy(drop: 0.05));
        using (setup)
        using (var trainer = setup.CreateTrainer())
        {
            expected = trainer.Train().GoldMetricGuard!;
            uninterrupted = setup.AdapterValues();
        }

        // Cancelled inside the iteration after the 12-image reading: the checkpoint holds the baseline..12 history and the
        // best adapters (8 images), which differ from the checkpoint's current ones.
        using var cancel = new CancellationTokenSource();
        (setup, _, _) = Guarded(HackableProxy(drop: 0.05), o => o.CheckpointDirectory = _folder);
        using (setup)
        using (var trainer = setup.CreateTrainer())
            Assert.Throws<OperationCanceledException>(() => trainer.Train(new SynchronousProgress(p =>
            {
                if (p.Samples >= 14) cancel.Cancel();
            }), cancel.Token));
        var saved = Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName);

        var (resumed, metric, sink) = Guarded(HackableProxy(drop: 0.05));
        using (resumed)
        using (var trainer = resumed.CreateTrainer())
        {
            trainer.ResumeFrom(saved);
            Assert.Equal([0L, 4, 8, 12], sink.Last!.Select(e => e.Images)); // the sink got the checkpoint's history back
            var guard = trainer.Train().GoldMetricGuard!;
            Assert.Equal([16L], metric.Seen.Select(s => s.Images)); // only the readings after the checkpoint
            Assert.Equal(expected.History, guard.History);
            Assert.True(guard.StoppedEarly && guard.RestoredBest);
            Assert.Equal(uninterrupted, resumed.AdapterValues());
        }
    }

    [Fact]
    public void Resuming_across_a_guard_setting_change_is_refused_naming_it()
    {
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.SampleBudget, o.CheckpointDirectory) = (8, _folder)))
        using (var trainer = setup.CreateTrainer())
            trainer.Train();
        var saved = Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName);
        var (guarded, _, _) = Guarded(HackableProxy(drop: 0.05));
        using (guarded)
        using (var trainer = guarded.CreateTrainer())
            Assert.Contains("was written without the gold-metric guard", Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(saved)).Message);

        var other = Path.Combine(_folder, "guarded");
        (guarded, _, _) = Guarded(HackableProxy(drop: 0.05), o => (o.SampleBudget, o.CheckpointDirectory) = (8, other));
        using (guarded)
        using (var trainer = guarded.CreateTrainer())
            trainer.Train();
        (guarded, _, _) = Guarded(HackableProxy(drop: 0.05), o => o.GoldMetricGuard.Patience = 3);
        using (guarded)
        using (var trainer = guarded.CreateTrainer())
            Assert.Contains("patience 2", Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(Path.Combine(other, PreferenceTrainer.CheckpointFolderName))).Message);
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO))
        using (var trainer = setup.CreateTrainer())
            Assert.Contains("with the gold-metric guard on", Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(Path.Combine(other, PreferenceTrainer.CheckpointFolderName))).Message);
    }

    private sealed class ScriptedGoldMetric(Func<long, (double Gold, double Proxy)> script) : IGoldMetric
    {
        public Func<float[]> ReadAdapters { get; set; } = () => [];

        public List<(long Images, float[] Adapters)> Seen { get; } = [];

        public string Name => "scripted";

        public GoldMetricReading Evaluate(long images, CancellationToken cancellationToken)
        {
            Seen.Add((images, ReadAdapters()));
            var (gold, proxy) = script(images);
            return new GoldMetricReading(gold, proxy) { GoldStandardError = 0.01 };
        }
    }

    private sealed class RecordingSink : IGoldMetricSink
    {
        public List<GoldMetricEvaluation>? Last { get; private set; }

        public void Write(IReadOnlyList<GoldMetricEvaluation> history) => Last = history.ToList();
    }
}
