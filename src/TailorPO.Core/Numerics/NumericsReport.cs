using System.Text;

namespace TailorPO.Core.Numerics;

/// <summary>The result of <see cref="TorchNumerics.Verify"/>: the guard's decision and every check.</summary>
/// <param name="Decision">The guard's decision for this process.</param>
/// <param name="Checks">Every op checked.</param>
/// <param name="ElapsedMilliseconds">How long the checks took.</param>
/// <param name="Threads">libtorch's intra-op thread count.</param>
/// <param name="OneDnnVersion">The oneDNN version libtorch was built with, where it can be read.</param>
public sealed record NumericsReport(
    NumericsDecision Decision, IReadOnlyList<NumericsCheckResult> Checks, double ElapsedMilliseconds, int Threads, string? OneDnnVersion)
{
    /// <summary>The checks that failed.</summary>
    public IReadOnlyList<NumericsCheckResult> Failures => Checks.Where(c => !c.Passed && !c.Informational).ToList();

    /// <summary>Whether every check passed.</summary>
    public bool Passed => Failures.Count == 0;

    /// <summary>A multi-line, human-readable report.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine($"CPU:        {Decision.Cpu}");
        text.AppendLine($"libtorch:   TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, oneDNN {OneDnnVersion ?? "(version not readable here)"}, " +
                        $"{Threads} intra-op thread(s), OMP_NUM_THREADS={Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "(unset)"}");
        text.AppendLine($"Guard:      {Decision.Summary}");
        foreach (var failure in Decision.CanaryFailures) text.AppendLine($"            oneDNN canary wrong: {failure}");
        text.AppendLine($"Self-check: {Checks.Count - Failures.Count} of {Checks.Count} ops match float64 ({ElapsedMilliseconds:F0} ms)");
        foreach (var check in Checks) text.AppendLine("  " + check);
        return text.ToString();
    }
}
