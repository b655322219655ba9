using System.Globalization;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Cli;

/// <summary>
/// The app's command line: <c>[serve|export|winrate] --option value ...</c>. Each command names the options it takes;
/// an unknown option, a missing value or a malformed number is refused with a message naming it.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string> _values;

    private CommandLine(string command, Dictionary<string, string> values) => (Command, _values) = (command, values);

    /// <summary>The command (<c>serve</c> when none is given).</summary>
    public string Command { get; }

    /// <summary>The command that prints the usage (<c>--help</c>, <c>-h</c> or <c>help</c>).</summary>
    public const string HelpCommand = "help";

    /// <summary>The options each command accepts.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Options = new Dictionary<string, string[]>
    {
        ["serve"] = ["--model", "--prompts", "--data", "--lora", "--annotators-per-pair", "--pairs-per-prompt", "--steps", "--cfg", "--eta", "--seed", "--port", "--admin-token"],
        ["export"] = ["--data", "--out"],
        ["winrate"] = ["--labels", "--out"],
    };

    /// <summary>Parses the arguments.</summary>
    /// <exception cref="LabelingException">An unknown command or option, or an option without its value.</exception>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        // Help wins over everything else, so `tailorpo label --help` always answers.
        if (args.Any(a => a is "--help" or "-h") || args is ["help", ..]) return new CommandLine(HelpCommand, new Dictionary<string, string>());
        var index = 0;
        var command = args.Count > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[index++] : "serve";
        if (!Options.TryGetValue(command, out var allowed))
            throw new LabelingException($"Unknown command '{command}'; use serve (the default), export or winrate.");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (; index < args.Count; index += 2)
        {
            var name = args[index];
            if (!allowed.Contains(name)) throw new LabelingException($"'{command}' takes no option '{name}'; it takes {string.Join(", ", allowed)}.");
            if (index + 1 >= args.Count) throw new LabelingException($"The option {name} needs a value.");
            values[name] = args[index + 1];
        }
        return new CommandLine(command, values);
    }

    /// <summary>The option's value, or <paramref name="fallback"/>.</summary>
    public string? Text(string name, string? fallback = null) => _values.TryGetValue(name, out var value) ? value : fallback;

    /// <summary>An integer option.</summary>
    public int Integer(string name, int fallback) => Parsed(name, fallback, s => int.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>A 64-bit integer option.</summary>
    public long Long(string name, long fallback) => Parsed(name, fallback, s => long.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>A real-number option.</summary>
    public double Real(string name, double fallback) => Parsed(name, fallback, s => double.Parse(s, CultureInfo.InvariantCulture));

    private T Parsed<T>(string name, T fallback, Func<string, T> parse)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new LabelingException($"The option {name} expects a number; got '{text}'.", e);
        }
    }
}
