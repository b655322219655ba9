using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Comparison;
using TailorPO.Shapes;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>compare</c>.</summary>
public sealed class CompareSettings : GlobalSettings
{
    /// <summary>Quick sizing.</summary>
    [CommandOption("--quick")]
    [Description("Every section on a token budget (minutes): numbers, not evidence. Default: the full sizing (about 1.5 hours on 2 cores).")]
    public bool Quick { get; init; }

    /// <summary>The docs folder.</summary>
    [CommandOption("-o|--output <DOCS_FOLDER>")]
    [Description("The docs folder that receives results.md and results/*.png.")]
    [DefaultValue("docs")]
    public string Output { get; init; } = "docs";

    /// <summary>The work folder.</summary>
    [CommandOption("--work <FOLDER>")]
    [Description("Where training runs and their results are cached (an interrupted run resumes from it). Default: runs/compare-<quick|full>.")]
    public string? Work { get; init; }

    /// <summary>The sizing used.</summary>
    public ComparisonSizing Sizing => Quick ? ComparisonSizing.Quick : ComparisonSizing.Full;

    /// <summary>The work folder used.</summary>
    public string WorkFolder => Work ?? Path.Combine("runs", $"compare-{Sizing.Name}");

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        if (ModelFolderProblem("the embedded model", EmbeddedModel.Folder) is { } model) yield return model;
        if (File.Exists(Output)) yield return $"--output '{Output}' is a file; give the docs folder.";
        if (Work is not null && File.Exists(Work)) yield return $"--work '{Work}' is a file; give a folder.";
        if (Device != "cpu") yield return "compare runs on the CPU only (its sizing is measured there); drop --device.";
    }
}

/// <summary><c>compare</c>: regenerates docs/results.md - the paper's claims at small scale, TailorPO next to the baselines.</summary>
public sealed class CompareCommand(IAnsiConsole console) : AsyncCommand<CompareSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, CompareSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        TorchSetup.Apply(settings, console);
        var clock = Stopwatch.StartNew();
        var commandLine = $"{CliApplication.Name} compare {string.Join(' ', context.Arguments.SkipWhile(a => a == "compare"))}".TrimEnd();
        console.MarkupLine(CultureInfo.InvariantCulture, "compare ([bold]{0}[/] sizing): pages to [blue]{1}[/], runs cached in [blue]{2}[/]",
            settings.Sizing.Name, Markup.Escape(Path.GetFullPath(settings.Output)), Markup.Escape(Path.GetFullPath(settings.WorkFolder)));
        Directory.CreateDirectory(settings.Output);
        using var evaluator = new HeldOutEvaluator(settings.Sizing);
        var runner = new ComparisonRunner(settings.Sizing, settings.WorkFolder, evaluator, console, settings.EffectiveThreads);
        var comparison = new ComparisonContext(settings.Sizing, runner, evaluator, console, settings.Output, commandLine, settings.EffectiveThreads, cancellationToken);
        try
        {
            await ComparisonPage.WriteAsync(comparison).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine("[yellow]Stopped.[/] Finished runs are cached; the same command continues.");
            return ExitCodes.Cancelled;
        }
        console.MarkupLine(CultureInfo.InvariantCulture, "Wrote [blue]{0}[/] in {1:F1} min.",
            Markup.Escape(Path.GetFullPath(Path.Combine(settings.Output, ComparisonPage.FileName))), clock.Elapsed.TotalMinutes);
        return ExitCodes.Success;
    }
}
