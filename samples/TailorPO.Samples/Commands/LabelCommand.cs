using Spectre.Console;
using Spectre.Console.Cli;
using TailorPO.Samples.Labeling;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>label</c>: none of its own; everything after <c>label</c> goes to the labelling app.</summary>
public sealed class LabelSettings : CommandSettings
{
}

/// <summary>
/// <c>label</c>: starts the labelling app (samples/TailorPO.Labeling) as a child process with the arguments that follow,
/// e.g. <c>tailorpo label --prompts prompts.txt</c>, <c>tailorpo label export --data labeling-data</c> or
/// <c>tailorpo label --help</c>. <see cref="Cli.CliApplication.RunAsync"/> hands every argument after <c>label</c> to
/// <see cref="RunAsync"/> before the CLI's own parser sees them, since the app's options are not the CLI's.
/// </summary>
public sealed class LabelCommand(IAnsiConsole console) : AsyncCommand<LabelSettings>
{
    /// <summary>The command's name.</summary>
    public const string Name = "label";

    /// <inheritdoc />
    public override Task<int> ExecuteAsync(CommandContext context, LabelSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RunAsync(context.Remaining.Raw.ToArray(), console, cancellationToken);
    }

    /// <summary>Finds the app, runs it with <paramref name="arguments"/> and returns its exit code.</summary>
    /// <exception cref="Cli.BadInputException">The app is not built anywhere the CLI looks (the message says how to build it).</exception>
    public static Task<int> RunAsync(IReadOnlyList<string> arguments, IAnsiConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        var location = LabelingAppLocation.Find();
        var writer = console.Profile.Out.Writer;
        return LabelingAppProcess.RunAsync(location, arguments, writer, writer, cancellationToken);
    }
}
