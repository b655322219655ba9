using TailorPO.Training.Metrics;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// The trust regions' clip fractions reach the metrics: D3PO's ratio clamp (eps 0.1) and DDPO's PPO clip (1e-4). The first
/// update scores samples drawn with the very weights it trains (every ratio is exactly 1), so nothing is clipped there;
/// at lr 0.03 the ratios then leave DDPO's 1e-4 band.
/// </summary>
public class ClipFractionTests
{
    [Theory]
    [InlineData(TrainingMethods.D3po)]
    [InlineData(TrainingMethods.Ddpo)]
    public void The_trust_regions_clip_fraction_is_logged_per_update(string method)
    {
        using var setup = new TrainerSetup(method, o => o.SampleBudget = 16);
        using var trainer = setup.CreateTrainer();
        List<TrainingStepMetrics> rows = [];
        trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.InRange(r.ClipFraction, 0, 1));
        Assert.Equal(0, rows[0].ClipFraction);
        if (method == TrainingMethods.Ddpo) Assert.Contains(rows, r => r.ClipFraction > 0);
    }

    [Fact]
    public void Diffusion_dpo_has_no_clamp_and_logs_a_clip_fraction_of_zero()
    {
        using var setup = new TrainerSetup(TrainingMethods.DiffusionDpo, o => o.SampleBudget = 8);
        using var trainer = setup.CreateTrainer();
        List<TrainingStepMetrics> rows = [];
        trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));
        Assert.All(rows, r => Assert.Equal(0, r.ClipFraction));
    }
}
