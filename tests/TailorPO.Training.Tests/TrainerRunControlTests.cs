using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Core.Losses;
using TailorPO.Training.Checkpoints;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests;

/// <summary>Resume, cancellation, the non-finite guard, options validation, ties and the CFG scale.</summary>
public sealed class TrainerRunControlTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "tailorpo-training-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(TrainingMethods.TailorPO, false)]
    [InlineData(TrainingMethods.TailorPOGuided, false)]
    [InlineData(TrainingMethods.D3po, false)]
    [InlineData(TrainingMethods.Ddpo, false)]
    [InlineData(TrainingMethods.DiffusionDpo, false)]
    [InlineData(TrainingMethods.TailorPOGuided, true)] // the reward's running normaliser scales the guidance gradient
    public void Resuming_from_a_checkpoint_continues_bit_identically(string method, bool runningNormalizer)
    {
        float[] uninterrupted;
        List<TrainingStepMetrics> rowsA = [];
        using (var setup = new TrainerSetup(method, o => o.SampleBudget = 16, runningNormalizer: runningNormalizer))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.Train(new SynchronousProgress(p => rowsA.Add(p.Latest)));
            uninterrupted = setup.AdapterValues();
        }

        var checkpoint = Path.Combine(_folder, $"{method}-{runningNormalizer}");
        using (var setup = new TrainerSetup(method, o => (o.SampleBudget, o.CheckpointDirectory) = (8, checkpoint), runningNormalizer: runningNormalizer))
        using (var trainer = setup.CreateTrainer())
            trainer.Train();

        List<TrainingStepMetrics> rowsB = [];
        using (var setup = new TrainerSetup(method, o => o.SampleBudget = 16, modelSeed: 7, runningNormalizer: runningNormalizer))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.ResumeFrom(Path.Combine(checkpoint, PreferenceTrainer.CheckpointFolderName));
            trainer.Train(new SynchronousProgress(p => rowsB.Add(p.Latest)));
            Assert.Equal(uninterrupted, setup.AdapterValues());
        }
        var tail = rowsA.Skip(rowsA.Count - rowsB.Count).ToList();
        Assert.Equal(tail.Select(r => (r.Loss, r.PreferredReward, r.Update, r.Samples, r.NoiseEvaluations)), rowsB.Select(r => (r.Loss, r.PreferredReward, r.Update, r.Samples, r.NoiseEvaluations)));
    }

    [Fact]
    public void Cancellation_stops_within_an_update_and_leaves_a_checkpoint_that_resumes_exactly()
    {
        float[] uninterrupted;
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.SampleBudget = 12))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.Train();
            uninterrupted = setup.AdapterValues();
        }

        using var cancel = new CancellationTokenSource();
        var updates = 0;
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.SampleBudget, o.CheckpointDirectory) = (12, _folder)))
        using (var trainer = setup.CreateTrainer())
        {
            Assert.Throws<OperationCanceledException>(() => trainer.Train(new SynchronousProgress(p =>
            {
                if (++updates == 7) cancel.Cancel(); // inside the second iteration (5 trained steps each)
            }), cancel.Token));
            Assert.Equal(7, updates); // no update ran after the cancellation: it stopped at the next denoising step
        }
        var saved = Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName);
        Assert.True(File.Exists(Path.Combine(saved, TrainingCheckpoint.CountersFile)));
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.SampleBudget = 12))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.ResumeFrom(saved);
            Assert.Equal(1, trainer.Context.Iteration); // the cancelled iteration was rolled back
            trainer.Train();
            Assert.Equal(uninterrupted, setup.AdapterValues());
        }
    }

    [Fact]
    public async Task TrainAsync_cancelled_before_it_starts_is_a_cancelled_task_that_trained_and_wrote_nothing()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var updates = 0;
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.SampleBudget, o.CheckpointDirectory) = (12, _folder));
        var before = setup.AdapterValues();
        using var trainer = setup.CreateTrainer();

        var task = trainer.TrainAsync(new SynchronousProgress(_ => updates++), cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.Equal(0, updates);
        Assert.Equal(0, trainer.Context.Samples);
        Assert.Equal(before, setup.AdapterValues());
        Assert.False(Directory.Exists(Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName)), "no checkpoint is written for a run that never started");
        // The synchronous form keeps the same contract.
        Assert.Throws<OperationCanceledException>(() => trainer.Train(new SynchronousProgress(_ => updates++), cancel.Token));
        Assert.Equal(0, updates);
        Assert.False(Directory.Exists(Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName)));
    }

    [Fact]
    public async Task TrainAsync_cancelled_while_training_stops_within_an_update_as_a_cancelled_task_and_leaves_the_checkpoint()
    {
        using var cancel = new CancellationTokenSource();
        var updates = 0;
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.SampleBudget, o.CheckpointDirectory) = (12, _folder));
        using var trainer = setup.CreateTrainer();

        var task = trainer.TrainAsync(new SynchronousProgress(_ =>
        {
            if (++updates == 7) cancel.Cancel(); // inside the second iteration (5 trained steps each)
        }), cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.Equal(7, updates); // no update ran after the cancellation
        Assert.Equal(1, trainer.Context.Iteration); // the cancelled iteration was rolled back
        Assert.True(File.Exists(Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.CountersFile)));
    }

    [Fact]
    public void Non_finite_rewards_skip_updates_and_stop_training_naming_the_step_without_touching_the_adapter()
    {
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.MaxConsecutiveNonFiniteUpdates = 3);
        var before = setup.AdapterValues();
        setup.Reward.Corrupt = score => score * float.NaN;
        using var trainer = setup.CreateTrainer();
        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Train());
        Assert.Contains("3 updates in a row", error.Message);
        Assert.Contains("step index", error.Message);
        Assert.Equal(3, trainer.Context.SkippedUpdates);
        Assert.Equal(before, setup.AdapterValues());
    }

    [Fact]
    public void A_rollouts_finiteness_checks_are_read_once_at_the_end_of_the_iteration_and_name_the_tensor()
    {
        // D3PO collects its trajectories before it trains, so the first model call is a rollout step outside any update: its
        // check of a NaN must not throw there (deferred, no host read per step) but when the iteration ends, under its name.
        var probe = new RolloutProbe();
        using var setup = new TrainerSetup(TrainingMethods.D3po, moreServices: s => s.AddSingleton<INoisePredictor>(sp => probe.Wrap((INoisePredictor)sp.GetRequiredService<IAdapter>()))); // the tiny model
        using var trainer = setup.CreateTrainer();
        var error = Assert.Throws<NonFiniteValueException>(() => trainer.Train());
        Assert.True(probe.CheckReturned);
        Assert.Equal("the probe", error.What);
        Assert.Equal(0, trainer.Context.Iteration); // the iteration that held it did not complete
    }

    private sealed class RolloutProbe : INoisePredictor
    {
        private INoisePredictor? _inner;

        public bool CheckReturned { get; private set; }

        public INoisePredictor Wrap(INoisePredictor inner)
        {
            _inner = inner;
            return this;
        }

        public Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates)
        {
            if (!CheckReturned)
            {
                using var nan = tensor(new[] { float.NaN });
                NonFiniteValueException.ThrowIfNonFinite(nan, "the probe");
                CheckReturned = true;
            }
            return _inner!.PredictNoise(latents, timesteps, encoderHiddenStates);
        }
    }

    [Fact]
    public void Options_validation_lists_every_bad_knob()
    {
        var options = new TailorPOTrainingOptions
        {
            Method = TrainingMethods.D3po, LoopMode = TrainingLoopMode.Online, Candidates = 1, BatchSize = 0, LearningRate = -1,
            AdamBeta1 = 1, MaxGradNorm = 0, LatentShape = null, MaxConsecutiveNonFiniteUpdates = 0,
        };
        var failures = TailorPOTrainingOptionsValidator.Check(options).ToList();
        foreach (var knob in new[] { "Candidates", "BatchSize", "LearningRate", "AdamBeta1", "MaxGradNorm", "LatentShape", "MaxConsecutiveNonFiniteUpdates" })
            Assert.Contains(failures, f => f.Contains($".{knob}"));
        Assert.Equal(7, failures.Count);
    }

    [Fact]
    public void A_method_refuses_a_loop_and_options_that_do_not_apply_to_it_naming_each()
    {
        // The loop and the method-specific options are the method's to judge (ITrainingMethod.Validate), at start.
        using var setup = new TrainerSetup(TrainingMethods.D3po, o => (o.LoopMode, o.DiffusionDpoGeneratedPairs, o.Candidates) = (TrainingLoopMode.Online, 5, 4));
        var error = Assert.Throws<ArgumentException>(() => setup.CreateTrainer());
        Assert.Contains("LoopMode Online needs a step-level method; d3po ranks whole trajectories", error.Message);
        Assert.Contains("DiffusionDpoGeneratedPairs = 5 does not apply to d3po", error.Message);
        Assert.Contains("Candidates = 4 does not apply to d3po", error.Message);
    }

    [Fact]
    public void A_tied_pair_gives_no_gradient_and_log_2()
    {
        var hw = tensor(new[] { 0.3f, -0.2f }).requires_grad_(true);
        var hl = tensor(new[] { -0.1f, 0.4f }).requires_grad_(true);
        var result = new TailorPOLoss(beta: 1).Compute(new PreferencePair(hw, hl, tensor(new[] { 1f, 0f })));
        result.Loss.backward();
        Assert.Equal(0f, hw.grad!.data<float>()[1]);
        Assert.Equal(0f, hl.grad!.data<float>()[1]);
        Assert.NotEqual(0f, hw.grad!.data<float>()[0]);
        var expected = 0.5 * (Math.Log(1 + Math.Exp(-(0.3 + 0.1))) + Math.Log(2));
        Assert.Equal(expected, result.Diagnostics.Loss, 5);
        Assert.Equal(0.5, result.Diagnostics.TiedFraction);
        Assert.Equal(1.0, result.Diagnostics.ImplicitAccuracy);
    }

    [Fact]
    public void Sampling_and_rescoring_use_the_configured_guidance_scale()
    {
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.SampleBudget = 2);
        using var trainer = setup.CreateTrainer();
        trainer.Train();
        Assert.NotEmpty(setup.Encoder.Scales);
        Assert.All(setup.Encoder.Scales, s => Assert.Equal(setup.Core.Sampling.GuidanceScale, s));
    }

    [Fact]
    public void Metrics_sinks_write_parseable_csv_and_json_lines()
    {
        Directory.CreateDirectory(_folder);
        var csvPath = Path.Combine(_folder, "metrics.csv");
        var jsonPath = Path.Combine(_folder, "metrics.jsonl");
        using (var csv = new CsvMetricsSink(csvPath))
        using (var json = new JsonLinesMetricsSink(jsonPath))
        {
            var row = new TrainingStepMetrics("tailorpo", 0, 0, 4, 0.69, 0.5, 1, 0.5, 0.5, 0, double.NaN, 0.01, 2.5, false, 2, 40, 1.5);
            csv.Write(row);
            json.Write(row);
        }
        var lines = File.ReadAllLines(csvPath);
        Assert.Equal(CsvMetricsSink.Columns.Count, lines[1].Split(',').Length);
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllLines(jsonPath)[0]);
        Assert.Equal(0.69, document.RootElement.GetProperty("loss").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, document.RootElement.GetProperty("guidance_acceptance").ValueKind);
    }
}
