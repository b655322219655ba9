using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Samples.Commands;

namespace TailorPO.Samples.Cli;

/// <summary>
/// The composition root of the samples CLI: the services commands receive and the command table.
/// A new command is one file under Commands/ (settings deriving from <see cref="GlobalSettings"/> plus
/// a <c>Command&lt;TSettings&gt;</c>) and one <c>AddCommand</c> line in <see cref="ConfigureCommands"/>.
/// </summary>
public static partial class CliApplication
{
    /// <summary>The program name shown in help.</summary>
    public const string Name = "tailorpo";

    /// <summary>Builds the app.</summary>
    /// <param name="console">Where commands write (tests pass a recording console); null for the terminal.</param>
    /// <param name="args">The arguments it will run with, so that a value that does not convert is reported with its option.</param>
    public static CommandApp Create(IAnsiConsole? console = null, IReadOnlyList<string>? args = null)
    {
        console ??= AnsiConsole.Console;
        var services = new ServiceCollection();
        services.AddSingleton(console);
        var app = new CommandApp(new TypeRegistrar(services));
        app.Configure(config =>
        {
            config.SetApplicationName(Name);
            config.Settings.Console = console;
            config.Settings.StrictParsing = true;
            config.SetExceptionHandler((exception, _) => HandleException(console, exception, args ?? []));
            ConfigureCommands(config);
        });
        return app;
    }

    /// <summary>
    /// Runs the CLI with Ctrl+C (SIGINT) and SIGTERM wired to cancellation; returns the exit code. SIGTERM is what
    /// <c>docker stop</c>, systemd and Kubernetes send: like the first Ctrl+C it asks the command to stop after its
    /// current step, and the process lives on until the command has written its checkpoint.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole? console = null)
    {
        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // The first Ctrl+C asks the command to stop after its current step; a second one kills the process.
            if (cancellation.IsCancellationRequested) return;
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopOnSignal(cancellation));
        try
        {
            // The labelling app's options are its own: everything after `label` goes to it unparsed.
            if (args is [LabelCommand.Name, .. var forwarded])
                return await RunLabelAsync(forwarded, console ?? AnsiConsole.Console, cancellation.Token).ConfigureAwait(false);
            return await Create(console, args).RunAsync(args, cancellation.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> RunLabelAsync(string[] forwarded, IAnsiConsole console, CancellationToken cancellationToken)
    {
        try
        {
            return await LabelCommand.RunAsync(forwarded, console, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BadInputException or OperationCanceledException)
        {
            return HandleException(console, e, forwarded);
        }
    }

    /// <summary>
    /// The handler of a stop signal: the first one cancels <paramref name="cancellation"/> and keeps the process alive so
    /// the command finishes its step and writes its checkpoint; a second one terminates as the signal normally does.
    /// </summary>
    /// <param name="cancellation">The token source the running command observes.</param>
    public static Action<PosixSignalContext> StopOnSignal(CancellationTokenSource cancellation)
    {
        ArgumentNullException.ThrowIfNull(cancellation);
        return context =>
        {
            if (cancellation.IsCancellationRequested) return;
            context.Cancel = true;
            cancellation.Cancel();
        };
    }

    /// <summary>
    /// Spectre reports a value that does not convert as "Failed to convert 'X' to Nullable`1." without the option:
    /// this names the option that received X, or returns null when the message is another one.
    /// </summary>
    private static string? ConversionMessage(string message, IReadOnlyList<string> args)
    {
        var match = FailedConversion().Match(message);
        if (!match.Success) return null;
        var value = match.Groups["value"].Value;
        for (var i = 1; i < args.Count; i++)
            if (args[i] == value && args[i - 1].StartsWith('-'))
                return $"{args[i - 1]} cannot take '{value}': it is not a number of that option's type and range (see --help).";
        return null;
    }

    [GeneratedRegex(@"^Failed to convert '(?<value>.*)' to \S+\.$", RegexOptions.Singleline)]
    private static partial Regex FailedConversion();

    /// <summary>The command table.</summary>
    public static void ConfigureCommands(IConfigurator config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.AddCommand<AlignCommand>("align")
            .WithDescription("The main job: align the embedded tiny model (or --model) to a reward with TailorPO or a baseline.")
            .WithExample("align")
            .WithExample("align", "--method", "tailorpo-g", "--reward", "colorfulness");
        config.AddCommand<CompareCommand>("compare")
            .WithDescription("Regenerates docs/results.md: the paper's claims at small scale, TailorPO next to the baselines (--quick: minutes).")
            .WithExample("compare", "--quick", "--output", "/tmp/docs");
        config.AddCommand<GenerateCommand>("generate")
            .WithDescription("Prompts -> a PNG grid (optionally with a LoRA).")
            .WithExample("generate", "\"a red circle on a plain white background\"");
        config.AddCommand<EvaluateCommand>("evaluate")
            .WithDescription("Caption fidelity on held-out captions: shape colour, shape and background agreement.");
        config.AddCommand<DoctorCommand>("doctor")
            .WithDescription("The CPU, libtorch, oneDNN and thread settings, and the numerics self-check of every op on the path in use (--sweep: all ops, both thread counts).")
            .WithExample("doctor", "--sweep");
        config.AddCommand<LabelCommand>(LabelCommand.Name)
            .WithDescription("Starts the labelling app (samples/TailorPO.Labeling; built separately) with the arguments that follow: collect human preferences, export them for align, report win rates. `label --help` shows its options.")
            .WithExample(LabelCommand.Name, "--prompts", "prompts.txt")
            .WithExample(LabelCommand.Name, "export", "--data", "labeling-data", "--out", "labels");
        config.AddCommand<PretrainCommand>("pretrain")
            .WithDescription("Trains the tiny pixel-space text-to-image model on procedurally drawn captioned shapes.");
        config.AddCommand<PretrainRewardCommand>("pretrain-reward")
            .WithDescription("Trains the embedded preference model: a tiny CLIP of the shapes world, contrastive with one-attribute-off hard negatives; writes a transformers CLIPModel folder and its held-out retrieval report.")
            .WithExample("pretrain-reward", "-o", "preference-model", "--threads", "1");
    }

    private static int HandleException(IAnsiConsole console, Exception exception, IReadOnlyList<string> args)
    {
        switch (exception)
        {
            case CommandAppException app:
                // Parsing and validation errors (Spectre's own and our settings' Validate): nothing ran.
                console.MarkupLine("[red]Error:[/] " + Markup.Escape(ConversionMessage(app.Message, args) ?? app.Message));
                return ExitCodes.BadInput;
            case BadInputException bad:
                console.MarkupLine("[red]Error:[/] " + Markup.Escape(bad.Message));
                return ExitCodes.BadInput;
            case OperationCanceledException:
                console.MarkupLine("[yellow]Cancelled.[/]");
                return ExitCodes.Cancelled;
            default:
                console.MarkupLine("[red]Failed:[/] " + Markup.Escape(exception.Message));
                if (Environment.GetEnvironmentVariable("TAILORPO_DEBUG") == "1")
                    console.WriteException(exception);
                return ExitCodes.Failure;
        }
    }
}
