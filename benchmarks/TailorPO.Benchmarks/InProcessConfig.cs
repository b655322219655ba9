using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace TailorPO.Benchmarks;

/// <summary>
/// BenchmarkDotNet's default loggers, columns and exporters plus the memory diagnoser. It adds
/// no job on purpose: the job comes from the command line (<c>--job Dry</c>, <c>--job Short</c>,
/// none for the default), and <see cref="Program"/> adds <c>--inProcess</c> so that every job
/// runs in the host process, where the libtorch natives are. (A job defined here would either
/// run next to the command-line job or, if marked as the default, override it.)
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
