using System.Globalization;
using Spectre.Console;
using TailorPO.Diffusion.Tokenization;

namespace TailorPO.Samples.Cli;

/// <summary>
/// Warns once when prompts are longer than the text encoder reads: the tokenizer keeps the first tokens that fit the
/// model's context and drops the rest without a word, so a long prompt silently means less than it says.
/// </summary>
public static class PromptLengthWarning
{
    /// <summary>The characters of a prompt quoted in the warning.</summary>
    private const int Quoted = 60;

    /// <summary>Writes one warning naming the first prompt cut and the kept length, or nothing when every prompt fits.</summary>
    /// <returns>How many distinct prompts are cut.</returns>
    public static int Warn(IAnsiConsole console, ClipTokenizer tokenizer, IEnumerable<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        var cut = prompts.Distinct(StringComparer.Ordinal).Where(p => tokenizer.EncodeForModel([p]).Truncated[0]).ToList();
        if (cut.Count == 0) return 0;
        var first = cut[0];
        var kept = tokenizer.EncodeForModel([first]).Length - 2; // the row holds bos + tokens + eos
        var quoted = first.Length <= Quoted ? first : first[..Quoted] + "...";
        console.MarkupLine(CultureInfo.InvariantCulture,
            "[yellow]Warning:[/] the prompt '{0}' ({1} characters, {2} tokens) is longer than the text encoder reads: it keeps its first {3} tokens{4}.",
            Markup.Escape(quoted), first.Length, tokenizer.Encode(first).Length, kept,
            cut.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $"; {cut.Count - 1} more prompt(s) are cut the same way") : "");
        return cut.Count;
    }
}
