using TailorPO.Core.Errors;

namespace TailorPO.Core.Numerics;

/// <summary>
/// The numerics self-check found an op that is still wrong on the path this process uses: training on it would
/// produce wrong numbers without an error.
/// </summary>
public sealed class NumericsCheckException : TailorPOException
{
    /// <summary>Creates the exception from a failed report.</summary>
    /// <param name="report">The report.</param>
    public NumericsCheckException(NumericsReport report)
        : base(Describe(report))
    {
        Report = report;
    }

    /// <summary>The report behind the exception.</summary>
    public NumericsReport Report { get; }

    private static string Describe(NumericsReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var failures = report.Failures;
        return $"libtorch computes {failures.Count} op(s) wrongly on this CPU ({report.Decision.Cpu}), on the path in use: " +
               string.Join("; ", failures.Take(5).Select(f => $"{f.Operation} {f.Dtype} threads {f.Threads} via {f.Path}: relative error {f.RelativeError:G3}")) +
               $". What to do: if the failures are convolutions, set {TorchNumerics.PolicyEnvironmentVariable}=reference (never oneDNN) and run " +
               "`tailorpo doctor` again; otherwise run on another CPU type or a GPU, and report the doctor output with the CPU model.";
    }
}
