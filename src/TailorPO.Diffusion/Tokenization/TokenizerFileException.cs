using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>A tokenizer file is missing or malformed; the message names the file, the line when known, and the problem.</summary>
public sealed class TokenizerFileException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    public TokenizerFileException(string path, int? lineNumber, string problem, Exception? innerException = null)
        : base(Format(path, lineNumber, problem), innerException ?? new InvalidDataException(problem))
    {
        FilePath = path;
        LineNumber = lineNumber;
        Problem = problem;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line at fault, when the problem is on one line.</summary>
    public int? LineNumber { get; }

    /// <summary>What was wrong.</summary>
    public string Problem { get; }

    private static string Format(string path, int? lineNumber, string problem) =>
        lineNumber is { } line ? $"Tokenizer file '{path}', line {line}: {problem}" : $"Tokenizer file '{path}': {problem}";
}
