using System.ComponentModel;
using System.Globalization;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Imaging;
using static TorchSharp.torch;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>generate</c>.</summary>
public sealed class GenerateSettings : ModelSettings
{
    /// <summary>Prompts given on the command line.</summary>
    [CommandArgument(0, "[PROMPTS]")]
    [Description("Prompts (quote each one).")]
    public string[] Prompts { get; init; } = [];

    /// <summary>A file with one prompt per line.</summary>
    [CommandOption("--prompts <FILE>")]
    [Description("A text file with one prompt per line (blank lines and lines starting with # are skipped).")]
    public string? PromptFile { get; init; }

    /// <summary>Images per prompt.</summary>
    [CommandOption("-n|--images <N>")]
    [Description("Images per prompt (seeds seed, seed+1, ...).")]
    [DefaultValue(4)]
    public int Images { get; init; } = 4;

    /// <summary>The grid PNG written.</summary>
    [CommandOption("-o|--output <FILE>")]
    [Description("The PNG grid to write: one row per prompt, one column per seed.")]
    [DefaultValue("grid.png")]
    public string Output { get; init; } = "grid.png";

    /// <summary>Tile enlargement.</summary>
    [CommandOption("--scale <N>")]
    [Description("Enlarge each tile N times (nearest neighbour); 1 keeps the model's pixels.")]
    [DefaultValue(4)]
    public int Scale { get; init; } = 4;

    /// <summary>Skip captions.</summary>
    [CommandOption("--no-captions")]
    [Description("Do not write the prompt under each tile.")]
    public bool NoCaptions { get; init; }

    /// <summary>The prompts, from the arguments then the file.</summary>
    public IReadOnlyList<string> AllPrompts()
    {
        var prompts = Prompts.Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
        if (PromptFile is not null && File.Exists(PromptFile))
            prompts.AddRange(File.ReadAllLines(PromptFile).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')));
        return prompts;
    }

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (FileProblem("--prompts", PromptFile) is { } file) yield return file;
        else if (AllPrompts().Count == 0 && PromptFileProblem("--prompts", PromptFile) is { } empty) yield return empty + " Give prompts in it or as arguments.";
        else if (AllPrompts().Count == 0) yield return "No prompts: give them as arguments (\"a red circle on a plain white background\") or with --prompts <file>.";
        if (Images is < 1 or > 64) yield return $"--images must lie in [1, 64]; got {Images}.";
        if (Scale is < 1 or > 32) yield return $"--scale must lie in [1, 32]; got {Scale}.";
        if (OutputFileProblem("--output", Output) is { } output) yield return output;
        else if (!Output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) yield return $"--output '{Output}' must end in .png.";
    }
}

/// <summary><c>generate</c>: prompts to a PNG grid, with the embedded model or any diffusers folder, optionally with a LoRA.</summary>
public sealed class GenerateCommand(IAnsiConsole console) : Command<GenerateSettings>
{
    /// <inheritdoc />
    public override int Execute(CommandContext context, GenerateSettings settings, CancellationToken cancellationToken)
    {
        var device = TorchSetup.Apply(settings, console);
        var prompts = settings.AllPrompts();
        var seed = settings.Seed ?? 0;
        using var pipeline = ModelLoader.Load(settings, device);
        PromptLengthWarning.Warn(console, pipeline.Tokenizer, prompts);

        // Column k holds seed + k for every prompt (one pipeline call per seed).
        var columns = new List<Tensor>();
        using var scope = NewDisposeScope();
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("generate", maxValue: settings.Images * settings.Steps);
                for (var k = 0; k < settings.Images; k++)
                {
                    var request = new TextToImageRequest
                    {
                        Prompts = prompts,
                        Steps = settings.Steps,
                        GuidanceScale = settings.GuidanceScale,
                        Eta = settings.Eta,
                        Seed = seed + k,
                    };
                    using var result = pipeline.Generate(request, new InlineProgress<GenerationProgress>(_ => task.Increment(1)), cancellationToken);
                    columns.Add(result.Images.clone());
                }
            });

        // Row-major: prompt p, seed k.
        var grid = stack(columns, 1).flatten(0, 1);
        var captions = prompts.SelectMany(p => Enumerable.Range(0, settings.Images).Select(k => settings.NoCaptions ? null : $"{p} (seed {seed + k})")).ToList();
        CaptionedGrid.Save(settings.Output, grid, captions, settings.Images, settings.Scale, maxCaptionLines: 6);
        console.MarkupLine(CultureInfo.InvariantCulture, "[green]Wrote[/] {0}: {1} prompt(s) x {2} seed(s), {3} steps, CFG {4}, eta {5}{6}.",
            Markup.Escape(Path.GetFullPath(settings.Output)), prompts.Count, settings.Images, settings.Steps, settings.GuidanceScale, settings.Eta,
            settings.Lora is null ? "" : $", LoRA {Markup.Escape(settings.Lora)}");
        return ExitCodes.Success;
    }
}
