using System.Diagnostics;
using System.Globalization;

namespace TailorPO.Training.Checkpoints;

/// <summary>
/// TEST-ONLY: lets the crash-consistency tests kill a training process (SIGKILL to itself, as <c>kill -9</c> would) at an
/// exact point of the checkpoint and metrics protocol, which a signal sent from outside hits only by chance. The
/// environment variable <see cref="Variable"/> = <c>POINT</c> or <c>POINT:N</c> names the point and which time it is
/// reached (from 1; default 1). Unset - every real run - it does nothing: the variable is read once, here and nowhere else.
/// </summary>
internal static class CrashTestHook
{
    /// <summary>The environment variable the tests set on the child process.</summary>
    public const string Variable = "TAILORPO_TEST_CRASH_AT";

    /// <summary>When a checkpoint is about to be written and none exists yet (nothing staged).</summary>
    public const string BeforeFirstCheckpoint = "before-first-checkpoint";

    /// <summary>Between the two renames of a checkpoint swap: the previous checkpoint retired, the new one still staged.</summary>
    public const string BetweenSwapRenames = "between-swap-renames";

    /// <summary>After an update's metrics row has been written to every sink.</summary>
    public const string AfterMetricsLine = "after-metrics-line";

    private static readonly (string Point, int Occurrence)? Target = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int _reached;

    /// <summary>Kills the process when <paramref name="point"/> is the configured point reached for the configured time.</summary>
    public static void Reach(string point)
    {
        if (Target is not { } target || !string.Equals(target.Point, point, StringComparison.Ordinal)) return;
        if (Interlocked.Increment(ref _reached) != target.Occurrence) return;
        Console.Error.WriteLine($"{Variable}: killing the process at {point} #{target.Occurrence}.");
        using var self = Process.GetCurrentProcess();
        self.Kill(); // SIGKILL on Unix, TerminateProcess on Windows: no finally block, flush or handler runs
    }

    /// <summary>The point and occurrence <paramref name="value"/> names, or null when it is unset or blank.</summary>
    /// <exception cref="InvalidOperationException">A value that names no point, or a bad occurrence: a test's typo fails loudly.</exception>
    internal static (string Point, int Occurrence)? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var parts = value.Split(':', 2);
        var occurrence = parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1
            ? n
            : parts.Length == 2 ? throw new InvalidOperationException($"{Variable} = '{value}': the occurrence after ':' must be an integer >= 1.") : 1;
        var point = parts[0].Trim();
        if (point is not (BeforeFirstCheckpoint or BetweenSwapRenames or AfterMetricsLine))
            throw new InvalidOperationException($"{Variable} = '{value}' names no crash point; use {BeforeFirstCheckpoint}, {BetweenSwapRenames} or {AfterMetricsLine} (optionally :N).");
        return (point, occurrence);
    }
}
