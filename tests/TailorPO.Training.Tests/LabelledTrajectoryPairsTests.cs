using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Safetensors;
using TailorPO.Training.Methods;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
using TailorPO.Training.Pairs;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests;

/// <summary>
/// D3PO's human-feedback mode: reading the labelling app's export (every bad input named by file and line), refusing
/// a run whose sampling settings differ from the export's, re-scoring stored transitions against the stored
/// log-probabilities, and resuming bit-identically over the fixed labelled set.
/// </summary>
public sealed class LabelledTrajectoryPairsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "tailorpo-labelled-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private string Export(string name = "export", Action<TailorPO.Core.Options.TailorPOCoreOptions>? core = null)
    {
        using var setup = new TrainerSetup(TrainingMethods.D3po, configureCore: core);
        return LabelledExports.Write(setup, Path.Combine(_folder, name));
    }

    private static TrainerSetup Labelled(string export, Action<TailorPOTrainingOptions>? configure = null,
        Action<TailorPO.Core.Options.TailorPOCoreOptions>? core = null) =>
        new(TrainingMethods.D3po, configure, moreServices: s => s.AddSingleton<ILabelledTrajectorySource>(StoredTrajectoryPairs.Open(export)), configureCore: core);

    [Fact]
    public void An_export_is_read_with_its_prompts_latents_log_probabilities_and_sampling_settings()
    {
        var csv = Export();
        var pairs = StoredTrajectoryPairs.Open(Path.GetDirectoryName(csv)!); // a folder finds its trajectory-pairs.csv
        using var setup = new TrainerSetup(TrainingMethods.D3po);
        Assert.Equal(LabelledExports.Prompts.Length * 2, pairs.Count);
        Assert.Equal(0, pairs.ExcludedTies);
        Assert.Equal([3L, 4, 4], pairs.LatentShape);
        Assert.Equal(setup.Sampler.Timesteps, pairs.Sampling.Timesteps);
        Assert.Equal((TrajectorySampling.Ddim, 10, 1.0, setup.Core.Sampling.GuidanceScale),
            (pairs.Sampling.Sampler, pairs.Sampling.Steps, pairs.Sampling.Eta, pairs.Sampling.GuidanceScale));

        using var scope = NewDisposeScope();
        var batch = pairs.Get([3, 0]);
        Assert.Equal([LabelledExports.Prompts[1], LabelledExports.Prompts[0]], batch.Prompts);
        Assert.Equal([2L, 11, 3, 4, 4], batch.PreferredLatents.shape);
        Assert.Equal([2L, 10], batch.DispreferredLogProbabilities.shape);
        // Row 4 (index 3) as written: the preferred file named on its CSV line, read back unchanged.
        var row = File.ReadAllLines(csv)[4];
        var preferredFile = row.Split(',')[^5];
        using var file = SafetensorsFile.Open(Path.Combine(Path.GetDirectoryName(csv)!, preferredFile));
        Assert.True(file.Read(StoredTrajectoryPairs.LatentsName).allclose(batch.PreferredLatents[0], rtol: 0, atol: 0));
        Assert.True(file.Read(StoredTrajectoryPairs.LogProbabilitiesName).allclose(batch.PreferredLogProbabilities[0], rtol: 0, atol: 0));
        // The scripted annotator's preference: the preferred trajectory ends brighter.
        Assert.True((batch.PreferredLatents[.., -1].mean([1, 2, 3]) >= batch.DispreferredLatents[.., -1].mean([1, 2, 3])).all().item<bool>());
    }

    [Fact]
    public void Tied_rows_are_left_out_and_counted_and_an_export_of_only_ties_is_refused()
    {
        var csv = Export();
        var lines = File.ReadAllLines(csv);
        lines[1] = lines[1].Replace(",2,1,0", ",1,1,3", StringComparison.Ordinal);
        File.WriteAllLines(csv, lines);
        var pairs = StoredTrajectoryPairs.Open(csv);
        Assert.Equal((lines.Length - 2, 1), (pairs.Count, pairs.ExcludedTies));

        File.WriteAllLines(csv, lines.Select((l, i) => i == 0 ? l : l.Replace(",2,1,0", ",1,1,0", StringComparison.Ordinal)));
        var ex = Assert.Throws<InvalidDataException>(() => StoredTrajectoryPairs.Open(csv));
        Assert.Contains("no decided pair", ex.Message);
        Assert.Contains($"{lines.Length - 1} tied rows", ex.Message);
    }

    [Theory]
    [InlineData("header", "prompt,seed,preferred,dispreferred", 1, "the header must be")]
    [InlineData("fields", "{prompt},0,{preferred}", 2, "expected 7 fields")]
    [InlineData("seed", "{prompt},zero,{preferred},{dispreferred},2,1,0", 2, "seed must be an integer")]
    [InlineData("votes", "{prompt},0,{preferred},{dispreferred},1,2,0", 2, "preferred_votes (1) is below dispreferred_votes (2)")]
    [InlineData("negative", "{prompt},0,{preferred},{dispreferred},2,1,-1", 2, "cannot be negative")]
    [InlineData("empty prompt", ",0,{preferred},{dispreferred},2,1,0", 2, "the prompt is empty")]
    [InlineData("quote", "{prompt},0,{preferred},\"{dispreferred},2,1,0", 2, "quoted field is not closed")]
    [InlineData("prompt", "another prompt,0,{preferred},{dispreferred},2,1,0", 2, "was generated for the prompt 'a red circle', but the row's prompt is 'another prompt'")]
    [InlineData("seed mismatch", "{prompt},5,{preferred},{dispreferred},2,1,0", 2, "was generated with seed 0, but the row's seed is 5")]
    public void A_malformed_csv_line_is_refused_naming_the_file_and_line(string name, string line, int lineNumber, string expected)
    {
        var csv = Export(name);
        var lines = File.ReadAllLines(csv).ToList();
        var fields = lines[1].Split(',');
        var replacement = line.Replace("{prompt}", fields[0], StringComparison.Ordinal).Replace("{preferred}", fields[2], StringComparison.Ordinal)
            .Replace("{dispreferred}", fields[3], StringComparison.Ordinal);
        lines[lineNumber - 1] = replacement;
        File.WriteAllLines(csv, lines);
        var ex = Assert.Throws<InvalidDataException>(() => StoredTrajectoryPairs.Open(csv));
        Assert.Contains($"{csv}:{lineNumber}", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Missing_files_are_named()
    {
        var missing = Path.Combine(_folder, "nowhere");
        var ex = Assert.Throws<FileNotFoundException>(() => StoredTrajectoryPairs.Open(missing));
        Assert.Contains(missing, ex.Message);
        Assert.Contains("export", ex.Message);

        var csv = Export();
        var lines = File.ReadAllLines(csv);
        var gone = Path.Combine(Path.GetDirectoryName(csv)!, lines[2].Split(',')[^4]);
        File.Delete(gone);
        ex = Assert.Throws<FileNotFoundException>(() => StoredTrajectoryPairs.Open(csv));
        Assert.Contains($"{csv}:3", ex.Message);
        Assert.Contains(Path.GetFullPath(gone), ex.Message);

        File.WriteAllText(csv, "");
        Assert.Contains("is empty", Assert.Throws<InvalidDataException>(() => StoredTrajectoryPairs.Open(csv)).Message);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "no log_probs", $"has no '{StoredTrajectoryPairs.LogProbabilitiesName}' tensor" },
        { "short log_probs", "has latents for 10 steps but timesteps [10] and log_probs [9]" },
        { "other shape", "holds latents of shape [3, 2, 8], but" },
        { "no eta", "has no 'eta' metadata" },
        { "other eta", "was sampled with eta 0.5, but" },
        { "other scheduler", "was sampled with scheduler 'linear', but" },
        { "not safetensors", "is not a readable trajectory file" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_or_inconsistent_trajectory_file_is_refused_naming_it_and_its_line(string change, string expected)
    {
        var csv = Export(change.Replace(' ', '-'));
        var folder = Path.GetDirectoryName(csv)!;
        var line = File.ReadAllLines(csv)[2]; // the second pair: the first sets the reference the others must match
        var path = Path.Combine(folder, line.Split(',')[^5]);
        var tensors = SafetensorsFile.LoadAll(path);
        Dictionary<string, string> metadata;
        using (var file = SafetensorsFile.Open(path)) metadata = file.Metadata.ToDictionary();
        switch (change)
        {
            case "no log_probs": tensors.Remove(StoredTrajectoryPairs.LogProbabilitiesName); break;
            case "short log_probs": tensors[StoredTrajectoryPairs.LogProbabilitiesName] = tensors[StoredTrajectoryPairs.LogProbabilitiesName][..9].contiguous(); break;
            case "other shape": tensors[StoredTrajectoryPairs.LatentsName] = tensors[StoredTrajectoryPairs.LatentsName].reshape(11, 3, 2, 8).contiguous(); break;
            case "no eta": metadata.Remove(StoredTrajectoryPairs.EtaKey); break;
            case "other eta": metadata[StoredTrajectoryPairs.EtaKey] = "0.5"; break;
            case "other scheduler": metadata[StoredTrajectoryPairs.SchedulerKey] = "linear"; break;
        }
        if (change == "not safetensors") File.WriteAllText(path, "not a safetensors file");
        else SafetensorsWriter.Save(path, tensors, metadata);
        var ex = Assert.ThrowsAny<InvalidDataException>(() => StoredTrajectoryPairs.Open(csv));
        Assert.Contains($"{csv}:3", ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("steps", "10 steps, but this run samples with 8 steps")]
    [InlineData("eta", "eta 1, but this run samples with eta 0.5")]
    [InlineData("cfg", "guidance scale 5, but this run samples with guidance scale 3")]
    [InlineData("spacing", "timesteps 901,801,701,601,501,401,301,201,101,1, but this run samples with timesteps")]
    public void A_run_whose_sampling_differs_from_the_exports_is_refused_naming_both_values(string setting, string expected)
    {
        var csv = Export();
        var ex = Assert.Throws<ArgumentException>(() =>
        {
            using var setup = Labelled(csv, core: o =>
            {
                if (setting == "steps") o.Sampling.InferenceSteps = 8;
                if (setting == "eta") o.Sampling.Eta = 0.5;
                if (setting == "cfg") o.Sampling.GuidanceScale = 3;
                if (setting == "spacing") o.Sampling.TimestepSpacing = TailorPO.Core.Schedules.TimestepSpacing.Trailing;
            });
            using var trainer = setup.CreateTrainer();
        });
        Assert.Contains(csv, ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Options_that_do_not_apply_to_labelled_pairs_are_refused_naming_each()
    {
        var csv = Export();
        var ex = Assert.Throws<ArgumentException>(() =>
        {
            using var setup = Labelled(csv, o => (o.CollectBatches, o.D3poSameInitialNoise) = (3, false));
            using var trainer = setup.CreateTrainer();
        });
        Assert.Contains("CollectBatches = 3 does not apply to d3po", ex.Message);
        Assert.Contains("D3poSameInitialNoise = False does not apply to d3po", ex.Message);
    }

    [Fact]
    public void Stored_log_probabilities_are_the_reference_so_the_first_update_starts_at_a_zero_log_ratio_and_nothing_is_sampled()
    {
        var csv = Export();
        using var setup = Labelled(csv, o => o.SampleBudget = 8);
        using var trainer = setup.CreateTrainer();
        Assert.IsType<LabelledD3poMethod>(trainer.Method);
        var rows = new List<TrainingStepMetrics>();
        var report = trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));
        // The adapters start as the identity, so the re-scored base log-probability equals the stored one.
        Assert.InRange(rows[0].LogRatioDrift, 0, 1e-5);
        Assert.Equal(Math.Log(2), rows[0].Loss, 1e-5);
        // Two iterations of two pairs; each update re-scores 2 x 2 transitions and no trajectory is sampled.
        Assert.Equal((2, 8L), (report.Iterations, report.Samples));
        Assert.Equal(report.Updates * 4, report.NoiseEvaluations);
        Assert.Equal(2 * setup.Core.Finetune.TrainedSteps, report.Updates);
    }

    [Fact]
    public void Training_on_pairs_labelled_for_brightness_raises_the_preferred_trajectories_log_ratio_over_the_dispreferred()
    {
        var csv = Export();
        using var setup = Labelled(csv, o => o.SampleBudget = 72);
        using var trainer = setup.CreateTrainer();
        var rows = new List<TrainingStepMetrics>();
        trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));
        // At the start h = 0 on both sides: the loss is log 2 (closed form) and no pair is ranked right. Over the last
        // third of the updates the policy must rank the labelled pairs better than chance at a lower loss.
        var last = rows.TakeLast(rows.Count / 3).ToList();
        var (loss, accuracy) = (last.Average(r => r.Loss), last.Average(r => r.ImplicitAccuracy));
        Assert.True(loss < Math.Log(2) && accuracy > 0.5, $"Over the last third of the updates: loss {loss:F4} (log 2 = {Math.Log(2):F4}), implicit accuracy {accuracy:F2}.");
    }

    [Fact]
    public void Resuming_from_a_checkpoint_continues_bit_identically_over_the_labelled_set()
    {
        var csv = Export();
        float[] uninterrupted;
        List<TrainingStepMetrics> rowsA = [];
        // 6 pairs, batch 2, budget 20 images = 10 pairs: the order's second pass starts mid-run.
        using (var setup = Labelled(csv, o => o.SampleBudget = 20))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.Train(new SynchronousProgress(p => rowsA.Add(p.Latest)));
            uninterrupted = setup.AdapterValues();
        }
        var checkpoint = Path.Combine(_folder, "checkpoint");
        using (var setup = Labelled(csv, o => (o.SampleBudget, o.CheckpointDirectory) = (8, checkpoint)))
        using (var trainer = setup.CreateTrainer())
            trainer.Train();
        List<TrainingStepMetrics> rowsB = [];
        using (var setup = Labelled(csv, o => o.SampleBudget = 20))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.ResumeFrom(Path.Combine(checkpoint, PreferenceTrainer.CheckpointFolderName));
            trainer.Train(new SynchronousProgress(p => rowsB.Add(p.Latest)));
            Assert.Equal(uninterrupted, setup.AdapterValues());
        }
        var tail = rowsA.Skip(rowsA.Count - rowsB.Count).ToList();
        Assert.Equal(tail.Select(r => (r.Loss, r.StepIndex, r.Update, r.Samples)), rowsB.Select(r => (r.Loss, r.StepIndex, r.Update, r.Samples)));
    }

    [Fact]
    public void A_checkpoint_of_another_labelled_set_is_refused()
    {
        var csv = Export();
        var checkpoint = Path.Combine(_folder, "checkpoint");
        using (var setup = Labelled(csv, o => (o.SampleBudget, o.CheckpointDirectory) = (4, checkpoint)))
        using (var trainer = setup.CreateTrainer())
            trainer.Train();
        var lines = File.ReadAllLines(csv);
        File.WriteAllLines(csv, lines.Take(lines.Length - 1));
        using var other = Labelled(csv);
        using var resumed = other.CreateTrainer();
        var ex = Assert.Throws<InvalidDataException>(() => resumed.ResumeFrom(Path.Combine(checkpoint, PreferenceTrainer.CheckpointFolderName)));
        Assert.Contains("orders 6 items, but the set holds 5", ex.Message);
    }
}
