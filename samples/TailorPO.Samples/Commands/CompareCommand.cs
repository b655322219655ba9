using System.ComponentModel;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Reproduction;
using TailorPO.Samples.Cli;
using TailorPO.Shapes;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>compare</c>.</summary>
public sealed class CompareSettings : GlobalSettings
{
    /// <summary>Quick sizing.</summary>
    [CommandOption("--quick")]
    [Description("Every section on a token budget (about 2 minutes on 2 cores): numbers, not evidence; prints the estimated CPU time of the full page. " +
                 "Default: the full sizing (estimated at 2.7 CPU hours at --threads 1; docs/reproduction.md).")]
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

    /// <summary>Work backwards, as a second process sharing the work folder.</summary>
    [CommandOption("--reverse")]
    [Description("Work through the page backwards (sections, learning rates, seeds). Start a second compare with it on the same --work " +
                 "(and a throwaway --output) next to a normal one to use a second core: runs and analyses are locked per run and per analysis, " +
                 "the results are identical, and the normal process writes the page (docs/reproduction.md).")]
    public bool Reverse { get; init; }

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        if (ModelFolderProblem("the embedded model", EmbeddedModel.Folder) is { } model) yield return model;
        if (File.Exists(Output)) yield return $"--output '{Output}' is a file; give the docs folder.";
        if (Work is not null && File.Exists(Work)) yield return $"--work '{Work}' is a file; give a folder.";
        if (Device != "cpu") yield return "compare runs on the CPU only (its sizing is measured there); drop --device.";
        // The seeds are part of the sizing (training seeds 0-4, fixed evaluation seeds): a --seed would silently change nothing.
        if (Seed is not null) yield return "compare's seeds are fixed by its sizing (docs/reproduction.md); drop --seed.";
    }
}

/// <summary>
/// <c>compare</c>: regenerates docs/results.md - the paper's claims at small scale, TailorPO next to the baselines - with
/// the reproduction harness (samples/TailorPO.Reproduction, also runnable on its own).
/// </summary>
public sealed class CompareCommand(IAnsiConsole console) : AsyncCommand<CompareSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, CompareSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        TorchSetup.Apply(settings, console);
        var options = new ReproductionOptions
        {
            Quick = settings.Quick,
            OutputFolder = settings.Output,
            WorkFolder = settings.Work,
            Threads = settings.EffectiveThreads,
            Reverse = settings.Reverse,
            CommandLine = $"{CliApplication.Name} compare {string.Join(' ', context.Arguments.SkipWhile(a => a == "compare"))}".TrimEnd(),
        };
        try
        {
            await ReproductionHarness.RunAsync(options, console, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine("[yellow]Stopped.[/] Finished runs are cached; the same command continues.");
            return ExitCodes.Cancelled;
        }
        return ExitCodes.Success;
    }
}
