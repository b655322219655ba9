using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Abstractions;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.StepRewards;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests;

/// <summary>
/// The metrics that say whether a run learns and whether guidance misbehaves: the log-ratio margin the loss is computed
/// from, and TailorPO-G's count of rejected non-finite x^+, in the record and in both metrics files.
/// </summary>
public sealed class UpdateMetricsColumnsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-columns-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Non_finite_guided_proposals_are_counted_in_every_update_and_written_to_both_files()
    {
        // The refiner's reward has an infinite derivative at batch element 0, finite elsewhere: every guided step makes
        // exactly one non-finite x^+ (element 0 of the batch of 2), which the acceptance check rejects.
        var (rows, csv, json) = Train(TrainingMethods.TailorPOGuided, batch: 2, services => services.AddSingleton<IPreferredSampleRefiner>(sp =>
            new RewardGradientRefiner(new StepRewardEstimator(new IdentityLatentDecoder(), new SingularGradientReward(poisonedElement: 0)),
                new ConstantGuidanceSchedule(0.15))));

        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(1.0, r.GuidanceNonFinite));
        Assert.All(rows, r => Assert.False(r.Skipped));
        Assert.All(rows, r => Assert.InRange(r.GuidanceAcceptance, 0.0, 0.5)); // element 0 is never accepted
        Assert.All(Column(csv, "guidance_non_finite"), v => Assert.Equal("1", v));
        Assert.All(json, row => Assert.Equal(1.0, (double)row["guidance_non_finite"]!));
        Assert.Equal(rows.Count, json.Count);
    }

    [Fact]
    public void Without_guidance_the_non_finite_count_is_absent_and_the_margin_is_what_the_loss_is_computed_from()
    {
        // One pair per update, beta = 1 (TrainerSetup): the TailorPO loss is exactly -log sigma(h_w - h_l) of that pair.
        var (rows, csv, json) = Train(TrainingMethods.TailorPO, batch: 1);

        Assert.All(rows, r => Assert.True(double.IsNaN(r.GuidanceNonFinite)));
        Assert.All(Column(csv, "guidance_non_finite"), v => Assert.Equal("NaN", v));
        Assert.All(json, row => Assert.Null(row["guidance_non_finite"]));
        var decided = rows.Where(r => r.TiedFraction == 0).ToList();
        Assert.True(decided.Count >= 4, "too few decided pairs to test with");
        foreach (var r in decided)
        {
            var expected = Math.Log(1 + Math.Exp(-r.LogRatioMargin)); // -log sigma(m), in float64
            Assert.True(Math.Abs(r.Loss - expected) <= 1e-6 + 1e-5 * expected, $"loss {r.Loss} vs -log sigma({r.LogRatioMargin}) = {expected}");
            Assert.Equal(r.LogRatioMargin > 0 ? 1.0 : 0.0, r.ImplicitAccuracy);
        }
        Assert.Contains(decided, r => r.LogRatioMargin != 0); // the margin moves (the adapters start at the reference: 0)
        Assert.Equal(rows.Select(r => r.LogRatioMargin.ToString("R", CultureInfo.InvariantCulture)), Column(csv, "log_ratio_margin"));
        Assert.Equal(rows.Select(r => r.LogRatioMargin), json.Select(row => (double)row["log_ratio_margin"]!));
    }

    private (List<TrainingStepMetrics> Rows, string[] Csv, List<JsonObject> Json) Train(string method, int batch, Action<IServiceCollection>? moreServices = null)
    {
        var rows = new List<TrainingStepMetrics>();
        var csvPath = Path.Combine(_folder, "metrics.csv");
        var jsonPath = Path.Combine(_folder, "metrics.jsonl");
        using (var setup = new TrainerSetup(method, o => (o.SampleBudget, o.BatchSize) = (4, batch), moreServices: services =>
               {
                   services.AddSingleton<ITrainingMetricsSink>(_ => new CsvMetricsSink(csvPath));
                   services.AddSingleton<ITrainingMetricsSink>(_ => new JsonLinesMetricsSink(jsonPath));
                   moreServices?.Invoke(services);
               }))
        using (var trainer = setup.CreateTrainer())
            trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));
        var json = File.ReadAllLines(jsonPath).Select(line => JsonNode.Parse(line)!.AsObject()).ToList();
        return (rows, File.ReadAllLines(csvPath), json);
    }

    private static string[] Column(string[] csv, string name)
    {
        var index = Array.IndexOf(csv[0].Split(','), name);
        Assert.True(index >= 0, $"metrics.csv has no '{name}' column");
        return csv.Skip(1).Select(line => line.Split(',')[index]).ToArray();
    }

    /// <summary>
    /// The mean image value, plus for one batch element sqrt(m - m.detach()): zero in value, an infinite derivative, so that
    /// element's guidance gradient, and so its x^+, is not finite while its reward is.
    /// </summary>
    private sealed class SingularGradientReward(int poisonedElement) : IRewardModel
    {
        public string Name => "singular-gradient";

        public bool IsDifferentiable => true;

        public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
        {
            var mean = images.flatten(1).mean([1]);
            if (images.shape[0] <= poisonedElement) return mean;
            var elements = mean.unbind(0).ToArray();
            var m = elements[poisonedElement];
            elements[poisonedElement] = m + (m - m.detach()).sqrt();
            return stack(elements);
        }
    }
}
