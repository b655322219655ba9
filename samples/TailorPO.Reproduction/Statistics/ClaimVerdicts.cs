using System.Globalization;

namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// Decides a family of claims together: Holm's step-down correction over their decision p-values, then per claim
/// <see cref="ClaimOutcome.Reproduced"/> when the adjusted p is below <see cref="Alpha"/> and the evidence for the claim
/// is the stronger side, <see cref="ClaimOutcome.Contradicted"/> when it is below and the evidence against is stronger,
/// <see cref="ClaimOutcome.Inconclusive"/> otherwise.
/// </summary>
public sealed class ClaimVerdicts
{
    /// <summary>The family-wise error rate.</summary>
    public const double Alpha = 0.05;

    private readonly Dictionary<Claim, ClaimVerdict> _verdicts = new(ReferenceEqualityComparer.Instance);

    /// <summary>Decides <paramref name="claims"/> as one family.</summary>
    public ClaimVerdicts(IReadOnlyList<Claim> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        Claims = claims;
        var adjusted = HolmCorrection.Adjust(claims.Select(c => c.DecisionP).ToList());
        for (var i = 0; i < claims.Count; i++)
        {
            var claim = claims[i];
            var outcome = !(adjusted[i] < Alpha) ? ClaimOutcome.Inconclusive
                : claim.PFor < claim.PAgainst ? ClaimOutcome.Reproduced : ClaimOutcome.Contradicted;
            _verdicts[claim] = new ClaimVerdict(outcome, claim.DecisionP, adjusted[i]);
        }
    }

    /// <summary>The family, in page order.</summary>
    public IReadOnlyList<Claim> Claims { get; }

    /// <summary>The verdict of a claim of the family.</summary>
    public ClaimVerdict this[Claim claim] => _verdicts[claim];

    /// <summary>A markdown bullet: "- statement: **verdict** (evidence; test p = …, Holm p = …)".</summary>
    public string Bullet(Claim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var v = this[claim];
        return string.Create(CultureInfo.InvariantCulture,
            $"- {claim.Statement}: **{v.Word}** ({claim.Evidence}; {claim.Test} p = {P(v.P)}, Holm p = {P(v.AdjustedP)})");
    }

    private static string P(double p) => double.IsNaN(p) ? "n/a" : p < 1e-4 ? p.ToString("0.0E0", CultureInfo.InvariantCulture) : p.ToString("0.####", CultureInfo.InvariantCulture);
}
