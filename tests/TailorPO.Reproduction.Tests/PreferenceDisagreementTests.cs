using TailorPO.Reproduction.Sections;
using static TailorPO.Reproduction.Sections.PreferenceDisagreementSection;

namespace TailorPO.Reproduction.Tests;

/// <summary>Section 2's per-pair outcomes: the table's fractions and the claim's per-pair observations, ties left out.</summary>
public class PreferenceDisagreementTests
{
    // One reward; two settings (different x_T, same x_t); three steps; three pairs.
    private static int[][][][] Seed(int[][] differentSteps) =>
        [[differentSteps], [[[Agrees, Agrees, Agrees], [Agrees, Agrees, Agrees], [Agrees, Agrees, Agrees]]]];

    [Fact]
    public void Fractions_count_only_untied_pairs_and_are_zero_when_every_pair_ties()
    {
        var measured = new Measured([Seed([[Disagrees, Agrees, Tie], [Tie, Tie, Tie], [Disagrees, Disagrees, Agrees]])]);
        var fractions = measured.Fractions[0][0][0];
        Assert.Equal(new[] { 0.5, 0.0, 2.0 / 3.0 }, fractions);
    }

    [Fact]
    public void Each_pair_contributes_its_disagreement_over_its_untied_steps_before_the_last_from_every_seed()
    {
        var first = Seed([[Disagrees, Agrees, Tie], [Disagrees, Tie, Tie], [Agrees, Disagrees, Disagrees]]);
        var second = Seed([[Agrees, Agrees, Agrees], [Agrees, Agrees, Agrees], [Disagrees, Disagrees, Disagrees]]);
        // Steps 0-1 only. Seed 0: pair 0 disagrees at both steps (1), pair 1 agrees then ties (0), pair 2 ties at both (left out).
        // Seed 1: pair 0 agrees twice (0), pair 1 agrees twice (0), pair 2 agrees twice (0).
        var values = PairDisagreement(new Measured([first, second]), reward: 0, steps: 2);
        Assert.Equal(new[] { 1.0, 0.0, 0.0, 0.0, 0.0 }, values);
        // Step 2 counted too: seed 0's pair 2 now has one untied step, where it disagrees.
        Assert.Equal(new[] { 2.0 / 3.0, 0.5, 1.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0 }, PairDisagreement(new Measured([first, second]), 0, 3));
    }
}
