using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TailorPO.Benchmarks;

/// <summary>
/// Runs every benchmark in the host process (libtorch natives are only next to this assembly)
/// with the memory diagnoser on. <c>--job Dry</c> / <c>--job Short</c> on the command line
/// replaces the default job and keeps it in-process (the job is marked as the default, which
/// BenchmarkDotNet uses as the base of command-line jobs instead of running it alongside them).
/// The default loggers, columns and exporters are kept so that results are printed and saved.
/// </summary>
public sealed class InProcessConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public InProcessConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsDefault());
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
    }
}
