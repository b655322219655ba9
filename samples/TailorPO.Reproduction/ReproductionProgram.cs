using System.Globalization;
using System.Runtime.InteropServices;
using Spectre.Console;

namespace TailorPO.Reproduction;

/// <summary>The harness's own command line: <c>[--quick] [--output DOCS] [--work FOLDER] [--threads N] [--reverse] [--help]</c>.</summary>
public static class ReproductionProgram
{
    /// <summary>Exit code: the page was written.</summary>
    public const int Success = 0;

    /// <summary>Exit code: the arguments are wrong (nothing was done).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code: a run or analysis failed (the message says why; finished runs are cached).</summary>
    public const int Failed = 1;

    /// <summary>Exit code: stopped by Ctrl+C or SIGTERM (finished runs are cached).</summary>
    public const int Cancelled = 130;

    /// <summary>What <c>--help</c> prints (and a bad argument, after naming it).</summary>
    public const string Usage =
        """
        Usage: tailorpo-reproduction [--quick] [-o DOCS] [--work DIR] [--threads N]
                             [--reverse]
        Writes DOCS/results.md and DOCS/results/*.png: the paper's claims at small
        scale, every method trained on the embedded model, every claim decided by
        Welch / one-sample t / TOST tests under Holm's correction.
          --quick            every section on a token budget (about 2 min on 2
                             cores): numbers, not evidence; prints the estimated
                             CPU time of the full page from this run's rates
          -o, --output DOCS  the docs folder (default: docs)
          --work DIR         the cache of runs and analyses; the same command
                             resumes an interrupted run
                             (default: runs/compare-<quick|full>)
          --threads N        libtorch threads (default 0: libtorch's own choice)
          --reverse          work backwards (sections, rates, seeds): start a
                             second process with it on the same --work to use
                             a second core; same results, the normal process
                             writes the page
          -h, --help         this text
        Exit codes: 0 written, 1 failed (the reason is printed), 2 bad arguments,
        130 stopped by Ctrl+C or SIGTERM (finished runs stay cached). docs/reproduction.md has the full run's command and time.
        """;

    /// <summary>Parses <paramref name="args"/>, runs the harness with Ctrl+C and SIGTERM wired to cancellation and returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        if (args.Any(a => a is "--help" or "-h"))
        {
            console.WriteLine(Usage);
            return Success;
        }
        ReproductionOptions options;
        try
        {
            options = Parse(args);
        }
        catch (FormatException e)
        {
            console.WriteLine(e.Message);
            console.WriteLine(Usage);
            return BadInput;
        }
        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancellation.IsCancellationRequested) return;
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        // A background run (nohup ... &, as docs/reproduction.md starts it) ignores SIGINT, so `kill` (SIGTERM) is how it is
        // stopped: like Ctrl+C it cancels, the current training run writes its checkpoint, and the same command continues.
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            if (cancellation.IsCancellationRequested) return;
            context.Cancel = true;
            cancellation.Cancel();
        });
        try
        {
            await ReproductionHarness.RunAsync(options, console, cancellation.Token).ConfigureAwait(false);
            return Success;
        }
        catch (ArgumentException e) when (e.ParamName == "options")
        {
            console.WriteLine(e.Message);
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            console.WriteLine("Stopped. Finished runs are cached; the same command continues.");
            return Cancelled;
        }
        catch (Exception e)
        {
            // An escaping exception would abort the process with a stack trace: say what failed, keep the details for a bug report.
            console.WriteLine($"Failed: {e.Message}");
            console.WriteLine($"Finished runs are cached in {Path.GetFullPath(options.EffectiveWorkFolder)}; the same command continues once the cause is fixed.");
            await Console.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            return Failed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>The options of <paramref name="args"/>.</summary>
    /// <exception cref="FormatException">An unknown argument or a missing or malformed value (the message names it).</exception>
    public static ReproductionOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ReproductionOptions { CommandLine = ("tailorpo-reproduction " + string.Join(' ', args)).TrimEnd() };
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--quick" => options with { Quick = true },
                "--output" or "-o" => options with { OutputFolder = Value() },
                "--work" => options with { WorkFolder = Value() },
                "--reverse" => options with { Reverse = true },
                "--threads" => options with
                {
                    Threads = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                        : throw new FormatException($"--threads needs a whole number; got '{args[i]}'."),
                },
                _ => throw new FormatException($"Unknown argument '{args[i]}'."),
            };
        }
        return options;
    }
}
