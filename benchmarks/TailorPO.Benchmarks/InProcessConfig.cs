using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace TailorPO.Benchmarks;

/// <summary>
/// BenchmarkDotNet's default loggers, columns and exporters plus the memory diagnoser. It adds no job:
/// <see cref="Program"/> runs every job in-process (libtorch natives are only next to this assembly),
/// so <c>--job Dry</c> / <c>--job Short</c> select the job instead of adding a second, out-of-process one.
/// </summary>
public sealed class InProcessConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public InProcessConfig()
    {
        Add(DefaultConfig.Instance);
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
    }
}
