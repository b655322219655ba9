namespace TailorPO.Labeling.Tasks;

/// <summary>How the task generator samples (the samples CLI's defaults for the embedded model).</summary>
internal sealed record TaskGenerationOptions
{
    /// <summary>DDIM steps.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Classifier-free guidance scale.</summary>
    public double GuidanceScale { get; init; } = 3.0;

    /// <summary>DDIM eta; must be &gt; 0 for trajectory pairs (their two trajectories differ only by the sampler's noise, and D3PO needs log-probabilities).</summary>
    public double Eta { get; init; } = 1.0;

    /// <summary>Pairs per prompt (seeds <see cref="Seed"/>, <see cref="Seed"/> + 1, ...).</summary>
    public int PairsPerPrompt { get; init; } = 2;

    /// <summary>The first seed.</summary>
    public long Seed { get; init; }

    /// <summary>Checks the values; returns the problems.</summary>
    public IEnumerable<string> Problems()
    {
        if (Steps is < 1 or > 1000) yield return $"--steps must lie in [1, 1000]; got {Steps}.";
        if (!double.IsFinite(GuidanceScale) || GuidanceScale is < 0 or > 100) yield return $"--cfg must lie in [0, 100]; got {GuidanceScale}.";
        if (!double.IsFinite(Eta) || Eta is <= 0 or > 1) yield return $"--eta must lie in (0, 1]; got {Eta}.";
        if (PairsPerPrompt is < 1 or > 1000) yield return $"--pairs-per-prompt must lie in [1, 1000]; got {PairsPerPrompt}.";
    }
}
