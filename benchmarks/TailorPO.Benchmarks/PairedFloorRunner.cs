using System.Diagnostics;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// <c>--paired</c>: the floor benchmarks (<see cref="UNetFloorBenchmarks"/>, <see cref="LossFloorBenchmarks"/>, <see cref="RewardFloorBenchmarks"/>)
/// measured as alternating pairs in one process - ours, bare, bare, ours, ... - reporting each side's
/// median and the median of the per-pair ratios. On a shared machine whose load drifts within seconds,
/// BenchmarkDotNet's one-method-after-the-other runs can put the two sides under different loads;
/// adjacent pairs see nearly the same. Options: <c>--pairs N</c> (default 5), <c>--suite unet|loss|rewards|all</c>
/// (default all); TAILORPO_BENCH_UNET picks the UNet configs as for the BenchmarkDotNet suites.
/// </summary>
internal static class PairedFloorRunner
{
    public static int Run(IReadOnlyList<string> args)
    {
        int pairs = 5;
        string suite = "all";
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--pairs" && i + 1 < args.Count && int.TryParse(args[i + 1], out var n) && n > 0) { pairs = n; i++; }
            else if (args[i] == "--suite" && i + 1 < args.Count && args[i + 1] is "unet" or "loss" or "rewards" or "all") { suite = args[i + 1]; i++; }
            else
            {
                Console.Error.WriteLine($"--paired takes --pairs N and --suite unet|loss|rewards|all; got '{args[i]}'.");
                return 2;
            }
        }

        var rows = new List<string>
        {
            $"| suite | case | threads | ours (median) | bare (median) | ratio: median of {pairs} pairs (min - max) | load 1-min: start -> end |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        };
        if (suite is "unet" or "all")
        {
            foreach (var config in UNetBenchmarks.ConfigNames())
            {
                var benchmark = new UNetFloorBenchmarks { Config = config };
                benchmark.Setup();
                rows.Add(Measure("UNetFloor", config == "sd15" ? "SD v1.5, batch 1" : "fixture, batch 2", pairs, 1,
                    () => benchmark.Ours(), () => benchmark.BareReplay()));
                benchmark.Cleanup();
            }
        }
        if (suite is "loss" or "all")
        {
            foreach (var input in new[] { "logratios-B2", "logratios-B64", "posteriors" })
            {
                var benchmark = new LossFloorBenchmarks { Input = input };
                benchmark.Setup();
                rows.Add(Measure("LossFloor", input, pairs, 200, benchmark.Ours, benchmark.BareExpression));
                rows.Add(Measure("LossFloor, checks deferred (training step)", input, pairs, 200, benchmark.OursInTrainingStep, benchmark.BareExpression));
                rows.Add(Measure("LossFloor, checks deferred + statistics built", input, pairs, 200, benchmark.OursInTrainingStepWithStatistics, benchmark.BareExpression));
                benchmark.Cleanup();
            }
        }
        if (suite is "rewards" or "all")
        {
            foreach (var reward in new[] { "hpsv2", "imagereward" })
            {
                var benchmark = new RewardFloorBenchmarks { Reward = reward };
                benchmark.Setup();
                rows.Add(Measure("RewardFloor (score + backward)", $"{reward} fixture, batch 2", pairs, 50, benchmark.Ours, benchmark.BareReplay));
                benchmark.Cleanup();
            }
        }
        foreach (var row in rows) Console.WriteLine(row);
        return 0;
    }

    /// <summary>One row: <paramref name="calls"/> calls per sample, one warm-up sample per side, then alternating pairs.</summary>
    private static string Measure(string suite, string name, int pairs, int calls, Action ours, Action bare)
    {
        var loadAtStart = Load();
        double Sample(Action action)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) action();
            return clock.Elapsed.TotalSeconds / calls;
        }

        Sample(ours);
        Sample(bare);
        var oursTimes = new List<double>();
        var bareTimes = new List<double>();
        var ratios = new List<double>();
        for (int pair = 0; pair < pairs; pair++)
        {
            double o, b;
            if (pair % 2 == 0) { o = Sample(ours); b = Sample(bare); }
            else { b = Sample(bare); o = Sample(ours); }
            oursTimes.Add(o);
            bareTimes.Add(b);
            ratios.Add(o / b);
            Console.WriteLine($"// {suite} {name}: pair {pair + 1}: ours {Format(o)}, bare {Format(b)}, ratio {o / b:F3}");
        }
        return $"| {suite} | {name} | {get_num_threads()} | {Format(Median(oursTimes))} | {Format(Median(bareTimes))} | " +
            $"{Median(ratios):F2} ({ratios.Min():F2} - {ratios.Max():F2}) | {loadAtStart} -> {Load()} |";
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Format(double seconds) =>
        seconds >= 1 ? $"{seconds:F2} s" : seconds >= 1e-3 ? $"{seconds * 1e3:F1} ms" : $"{seconds * 1e6:F0} us";

    private static string Load() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
}
