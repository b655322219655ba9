using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TailorPO.Benchmarks;

/// <summary>
/// Runs every benchmark in the host process (libtorch natives are only next to this assembly)
/// with the memory diagnoser on. <c>--job Dry</c> on the command line still selects a dry run.
/// </summary>
public sealed class InProcessConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public InProcessConfig()
    {
        // AsDefault: a job given on the command line (--job Short/Dry with --inProcess) replaces this one.
        // The in-process timeout is raised from 5 minutes: SD v1.5-sized cases take minutes on a CPU.
        AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromHours(2), logOutput: true)).AsDefault());
        AddDiagnoser(MemoryDiagnoser.Default);
        // Loggers, result columns and exporters of BenchmarkDotNet's default configuration.
        AddLogger(DefaultConfig.Instance.GetLoggers().ToArray());
        AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray());
        AddExporter(DefaultConfig.Instance.GetExporters().ToArray());
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
    }
}
