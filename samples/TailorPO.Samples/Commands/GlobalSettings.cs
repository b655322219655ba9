using System.ComponentModel;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Core.Numerics;
using TailorPO.Samples.Cli;
using TailorPO.Training.Prompts;

namespace TailorPO.Samples.Commands;

/// <summary>
/// Options every command takes (<c>--threads</c>, <c>--device</c>, <c>--seed</c>). Each command's settings
/// derive from this class and add their problems in <see cref="Problems"/>: all of them are reported
/// together, in one message, before any work starts.
/// </summary>
public class GlobalSettings : CommandSettings
{
    /// <summary>libtorch intra-op threads (torch.set_num_threads).</summary>
    [CommandOption("--threads <N>")]
    [Description("libtorch intra-op threads (torch.set_num_threads). Default: the processor count, at most 8.")]
    public int? Threads { get; init; }

    /// <summary>Device: cpu, cuda or cuda:&lt;index&gt;.</summary>
    [CommandOption("--device <DEVICE>")]
    [Description("cpu, cuda or cuda:<index>. CUDA needs a CUDA libtorch backend (see the README). Default: cpu.")]
    [DefaultValue("cpu")]
    public string Device { get; init; } = "cpu";

    /// <summary>Seed of every random draw; each command documents its default.</summary>
    [CommandOption("--seed <SEED>")]
    [Description("Seed of every random draw (each command has its own default).")]
    public long? Seed { get; init; }

    /// <summary>CPU convolution path: auto, onednn or reference (TorchNumerics).</summary>
    [CommandOption("--convolution-path <PATH>")]
    [Description("CPU convolutions: auto (check libtorch's oneDNN on this CPU and route around what it gets wrong), onednn (trust it) or reference (never oneDNN). " +
                 "Default: the TAILORPO_CONVOLUTION_PATH environment variable, else auto.")]
    public string? ConvolutionPath { get; init; }

    /// <summary>The convolution policy named by <see cref="ConvolutionPath"/>, or null when not given.</summary>
    public ConvolutionPathPolicy? ConvolutionPolicy => ConvolutionPath?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "auto" => ConvolutionPathPolicy.Auto,
        "onednn" => ConvolutionPathPolicy.OneDnn,
        "reference" => ConvolutionPathPolicy.Reference,
        _ => null,
    };

    /// <summary>The thread count used.</summary>
    public int EffectiveThreads => Threads ?? Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <inheritdoc />
    public sealed override ValidationResult Validate()
    {
        var problems = new List<string>();
        if (Threads is < 1 or > 1024)
            problems.Add($"--threads must lie in [1, 1024]; got {Threads}.");
        if (DeviceOption.Check(Device) is { } device)
            problems.Add(device);
        if (ConvolutionPath is not null && ConvolutionPolicy is null)
            problems.Add($"--convolution-path must be auto, onednn or reference; got '{ConvolutionPath}'.");
        problems.AddRange(Problems());
        return problems.Count == 0
            ? ValidationResult.Success()
            : ValidationResult.Error(problems.Count == 1 ? problems[0] : string.Join(Environment.NewLine, problems.Select(p => "- " + p)));
    }

    /// <summary>The command's own problems with its settings (bad values, missing files, incompatible combinations).</summary>
    protected virtual IEnumerable<string> Problems() => [];

    /// <summary>A problem when <paramref name="path"/> is not an existing file.</summary>
    protected static string? FileProblem(string option, string? path) =>
        path is null || File.Exists(path) ? null : $"{option} '{path}' does not exist (full path: {Path.GetFullPath(path)}).";

    /// <summary>A problem when <paramref name="path"/> is missing or holds no prompt line (blank and '#' lines do not count).</summary>
    protected static string? PromptFileProblem(string option, string? path)
    {
        if (FileProblem(option, path) is { } missing) return missing;
        if (path is null) return null;
        try
        {
            _ = new TextFilePromptSource(path);
            return null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return $"{option}: {ex.Message}";
        }
    }

    /// <summary>A problem when <paramref name="path"/> is not an existing folder.</summary>
    protected static string? FolderProblem(string option, string? path) =>
        path is null || Directory.Exists(path) ? null : $"{option} '{path}' is not an existing folder (full path: {Path.GetFullPath(path)}).";

    /// <summary>A problem when <paramref name="path"/> is not a diffusers folder with a model_index.json.</summary>
    protected static string? ModelFolderProblem(string option, string path)
    {
        if (!Directory.Exists(path)) return $"{option} '{path}' is not an existing folder (full path: {Path.GetFullPath(path)}).";
        return File.Exists(Path.Combine(path, "model_index.json"))
            ? null
            : $"{option} '{path}' holds no model_index.json: it is not a diffusers pipeline folder.";
    }

    /// <summary>
    /// A problem when the folder that would hold <paramref name="path"/> cannot be created (an existing file in the way)
    /// or written (checked with a probe file in its nearest existing folder), so that no work is done for nothing.
    /// </summary>
    protected static string? OutputFileProblem(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return $"{option} must name a file.";
        if (Directory.Exists(path)) return $"{option} '{path}' is a folder; give a file name.";
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        for (var folder = parent; !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (File.Exists(folder)) return $"{option} '{path}': '{folder}' is a file, so the folder cannot be created.";
            if (Directory.Exists(folder)) return WritableProblem(option, path, folder);
        }
        return null;
    }

    private static string? WritableProblem(string option, string path, string folder)
    {
        var probe = Path.Combine(folder, $".tailorpo-write-probe-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{option} '{path}': the folder '{folder}' cannot be written ({ex.Message}); choose another output.";
        }
    }

    /// <summary>A problem when <paramref name="value"/> is not finite or outside [min, max].</summary>
    protected static string? RangeProblem(string option, double value, double min, double max) =>
        double.IsFinite(value) && value >= min && value <= max ? null : $"{option} must lie in [{min}, {max}]; got {value}.";
}
