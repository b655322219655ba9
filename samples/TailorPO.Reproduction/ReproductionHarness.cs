using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction;

/// <summary>
/// The harness's entry point, shared by its own program and the samples CLI's <c>compare</c>: loads the embedded model,
/// measures every section (resuming from the work folder's cache), writes docs/results.md, and after a quick run prints
/// the estimated CPU time of the full page.
/// </summary>
public static class ReproductionHarness
{
    /// <summary>Runs the harness; returns the estimate of the full page's time when the quick sizing ran, else null.</summary>
    /// <exception cref="ArgumentException">The options have problems (the message lists them).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; finished runs stay cached and the same call continues.</exception>
    public static async Task<PageTimeEstimate?> RunAsync(ReproductionOptions options, IAnsiConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        var problems = options.Problems().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        if (options.Threads > 0) TorchSharp.torch.set_num_threads(options.Threads);
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sizing = options.Sizing;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reproduction ({sizing.Name} sizing): page to {Path.GetFullPath(options.OutputFolder)}, runs cached in {Path.GetFullPath(options.EffectiveWorkFolder)}"));
        Directory.CreateDirectory(options.OutputFolder);
        using var evaluator = new HeldOutEvaluator(sizing);
        var runner = new ComparisonRunner(sizing, options.EffectiveWorkFolder, evaluator, console) { Reverse = options.Reverse };
        var context = new ReproductionContext(sizing, runner, evaluator, console, options.OutputFolder, options.CommandLine,
            options.Threads > 0 ? options.Threads : TorchSharp.torch.get_num_threads(), cancellationToken);
        await ReproductionPage.WriteAsync(context).ConfigureAwait(false);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {Path.GetFullPath(Path.Combine(options.OutputFolder, ReproductionPage.FileName))} in {clock.Elapsed.TotalMinutes:F1} min."));
        if (!options.Quick) return null;
        var cpuPerWall = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / clock.Elapsed.TotalSeconds;
        var estimate = PageTimeEstimate.Estimate(sizing, runner.AllRuns(), runner.AnalysisSeconds, ComparisonSizing.Full, cpuPerWall);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Estimated CPU time of the full page on this machine, from this run's measured rates (CPU/wall {cpuPerWall:F2}): {estimate}."));
        return estimate;
    }
}
