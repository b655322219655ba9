namespace TailorPO.Reproduction.Statistics;

/// <summary>The outcome of a claim after Holm's correction at level 0.05.</summary>
public enum ClaimOutcome
{
    /// <summary>Adjusted decision p &lt; 0.05 and the evidence points the claimed way.</summary>
    Reproduced,

    /// <summary>Adjusted decision p &lt; 0.05 and the evidence points against the claim.</summary>
    Contradicted,

    /// <summary>Neither (or the test is undefined, e.g. one seed).</summary>
    Inconclusive,
}

/// <summary>A claim's verdict: outcome, raw and Holm-adjusted decision p-values.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="P">The raw decision p-value.</param>
/// <param name="AdjustedP">The Holm-adjusted decision p-value over the page's family of claims.</param>
public sealed record ClaimVerdict(ClaimOutcome Outcome, double P, double AdjustedP)
{
    /// <summary>The page's word for the outcome.</summary>
    public string Word => Outcome switch
    {
        ClaimOutcome.Reproduced => "reproduced",
        ClaimOutcome.Contradicted => "contradicted",
        _ => "inconclusive",
    };
}
