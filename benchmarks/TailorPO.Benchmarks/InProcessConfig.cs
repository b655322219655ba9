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
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
    }
}
