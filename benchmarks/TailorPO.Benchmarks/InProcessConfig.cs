using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TailorPO.Benchmarks;

/// <summary>
/// Exactly one job, run in the host process (BenchmarkDotNet's generated projects do not copy the
/// libtorch natives), with the memory diagnoser and BenchmarkDotNet's default loggers, columns and
/// exporters. The in-process timeout is raised from 5 minutes to 2 hours: SD v1.5-sized cases take
/// minutes per invocation on a CPU.
/// </summary>
public sealed class InProcessConfig : ManualConfig
{
    /// <summary>The job names accepted by <c>--job</c>.</summary>
    public static readonly IReadOnlyDictionary<string, Job> Jobs = new Dictionary<string, Job>(StringComparer.OrdinalIgnoreCase)
    {
        ["default"] = Job.Default,
        ["dry"] = Job.Dry,
        ["short"] = Job.ShortRun,
        ["medium"] = Job.MediumRun,
        ["long"] = Job.LongRun,
    };

    /// <summary>Creates the configuration around one of <see cref="Jobs"/>.</summary>
    public InProcessConfig(Job job)
    {
        AddJob(job.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromHours(2), logOutput: true)));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddLogger(DefaultConfig.Instance.GetLoggers().ToArray());
        AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray());
        AddExporter(DefaultConfig.Instance.GetExporters().ToArray());
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
    }
}
