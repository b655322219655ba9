using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Statistics;
using TailorPO.Training.Options;

namespace TailorPO.Reproduction.Runs;

/// <summary>
/// Trains each compared configuration once for the whole page: a learning-rate sweep over the sizing's grid for its
/// reward (the same for every method) on the first <see cref="ComparisonSizing.SweepSeeds"/> seeds, decided by the trained reward
/// on TRAINING prompts at the image budget (never the held-out prompts the claims are judged on); then every seed at the
/// chosen rate, evaluated at the equal-images points, at equal updates and at equal NFE (<see cref="Budgets"/>). The
/// sweep's runs at the chosen rate are the comparison's runs of those seeds.
/// </summary>
public sealed class MethodRunsProvider(ComparisonSizing sizing, ComparisonRunner runner)
{
    private readonly Dictionary<string, MethodRuns> _cache = [];

    /// <summary>The configuration's runs (trained now, or from the work folder's cache).</summary>
    public async Task<MethodRuns> GetAsync(string method, string reward, CancellationToken cancellationToken, string pairing = "same-input")
    {
        var key = $"{method}/{pairing}/{reward}";
        if (_cache.TryGetValue(key, out var known)) return known;
        var points = Budgets.EqualImagePoints(sizing);
        var template = new ComparisonRun(method, reward, sizing.Seeds[0], sizing.TrainedSteps, RunTraining.DefaultLearningRate, pairing);
        var rates = await RatesAsync(reward, cancellationToken).ConfigureAwait(false);
        // A reverse runner sweeps the rates backwards, but the sweep stays in grid order: Choose takes the first of a tie, so
        // the chosen rate must not depend on the order the rates were trained in.
        var sweep = await WorkOrder.MapAsync(rates, runner.Reverse, async lr =>
        {
            var runs = await runner.SeedsAsync(template with { LearningRate = lr }, points, cancellationToken, sizing.Seeds.Take(sizing.SweepSeeds))
                .ConfigureAwait(false);
            return new SweepPoint(lr, SeedStatistics.Of(runs.Select(r => r.At(sizing.Budget).Scores.Training.TryGetValue(reward, out var v) ? v.Average() : double.NaN)));
        }).ConfigureAwait(false);
        var chosen = template with { LearningRate = SweepPoint.Choose(sweep) };
        var equalUpdates = Budgets.EqualUpdatesImages(sizing, chosen);
        var all = (await runner.SeedsAsync(chosen, points.Append(equalUpdates), cancellationToken).ConfigureAwait(false)).ToList();

        var isReference = method == TrainingMethods.TailorPO && pairing == "same-input";
        var targetNfe = isReference
            ? all.Average(r => (double)r.At(sizing.Budget).NoiseEvaluations)
            : (await GetAsync(TrainingMethods.TailorPO, reward, cancellationToken).ConfigureAwait(false)).TargetNfe;
        var nfeStages = new List<StageResult>();
        for (var i = 0; i < all.Count; i++)
        {
            var (first, last) = (all[i].At(points[0]), all[i].At(sizing.Budget));
            var images = Budgets.EqualNfeImages(sizing, targetNfe, first.Samples, first.NoiseEvaluations, last.Samples, last.NoiseEvaluations);
            if (all[i].Stages[^1].Samples < images)
                all[i] = await runner.GetAsync(all[i].Run, [images], cancellationToken).ConfigureAwait(false);
            nfeStages.Add(all[i].Stages.MinBy(s => Math.Abs(s.Samples - images))!);
        }
        var result = new MethodRuns(chosen, sweep, all, equalUpdates, targetNfe, nfeStages);
        _cache[key] = result;
        return result;
    }

    /// <summary>
    /// The learning rates a configuration is swept over. A reward of the evaluation panel sweeps the sizing's grid, the
    /// learned preference reward its own lower grid (<see cref="ComparisonSizing.PreferenceLearningRates"/>; its runs are
    /// scored on it, training prompts included). The ensemble has no training-prompt score to sweep on: it takes the rate
    /// TailorPO chose on JPEG compressibility, so its row differs from TailorPO on JPEG alone only by the reward.
    /// </summary>
    private async Task<IReadOnlyList<double>> RatesAsync(string reward, CancellationToken cancellationToken)
    {
        if (RewardPanel.Names.Contains(reward)) return sizing.LearningRates;
        if (RewardPanel.LearnedNames.Contains(reward)) return sizing.PreferenceLearningRates;
        return [(await GetAsync(TrainingMethods.TailorPO, "jpeg-compressibility", cancellationToken).ConfigureAwait(false)).LearningRate];
    }
}
