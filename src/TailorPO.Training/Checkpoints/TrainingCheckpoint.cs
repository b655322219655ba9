using System.Text.Json;
using System.Text.Json.Serialization;
using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Checkpoints;

/// <summary>
/// A resumable trainer state in one folder: the adapters (PEFT safetensors through <see cref="IAdapter.Save"/>), the
/// optimizer moments and generator state (<c>state.bin</c>) and the counters and prompt cursor (<c>state.json</c>).
/// The folder is written next to its final place and renamed into it, so a crash never leaves half a checkpoint.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The adapter file inside a checkpoint folder.</summary>
    public const string AdapterFile = "adapter.safetensors";

    /// <summary>The tensor state file.</summary>
    public const string TensorFile = "state.bin";

    /// <summary>The counters file.</summary>
    public const string CountersFile = "state.json";

    /// <summary>Writes a checkpoint folder atomically (an existing one at <paramref name="folder"/> is replaced).</summary>
    public static void Write(string folder, IAdapter adapter, IReadOnlyDictionary<string, Tensor> tensors, TrainerCounters counters)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(counters);
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        var retired = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            adapter.Save(Path.Combine(staging, AdapterFile));
            TensorStateFile.Write(Path.Combine(staging, TensorFile), tensors);
            File.WriteAllText(Path.Combine(staging, CountersFile), JsonSerializer.Serialize(counters, JsonOptions));
            if (Directory.Exists(full)) Directory.Move(full, retired);
            Directory.Move(staging, full);
            if (Directory.Exists(retired)) Directory.Delete(retired, recursive: true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            // A crash between the two moves leaves the previous checkpoint in 'retired': put it back.
            if (Directory.Exists(retired) && !Directory.Exists(full)) Directory.Move(retired, full);
        }
    }

    /// <summary>Reads the counters and tensors of a checkpoint folder (the adapter is loaded by the trainer).</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">A file is missing or malformed.</exception>
    public static (TrainerCounters Counters, Dictionary<string, Tensor> Tensors) Read(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"The checkpoint folder '{folder}' does not exist.");
        foreach (var file in new[] { AdapterFile, TensorFile, CountersFile })
            if (!File.Exists(Path.Combine(folder, file)))
                throw new InvalidDataException($"'{folder}' is not a complete trainer checkpoint: {file} is missing.");
        TrainerCounters counters;
        try
        {
            counters = JsonSerializer.Deserialize<TrainerCounters>(File.ReadAllText(Path.Combine(folder, CountersFile)), JsonOptions)
                ?? throw new InvalidDataException("empty");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{Path.Combine(folder, CountersFile)}' is malformed: {ex.Message}", ex);
        }
        return (counters, TensorStateFile.Read(Path.Combine(folder, TensorFile)));
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}

/// <summary>The trainer's counters as saved in a checkpoint.</summary>
public sealed record TrainerCounters
{
    /// <summary>The method name the checkpoint was written by.</summary>
    public string Method { get; init; } = "";

    /// <summary>The run seed.</summary>
    public long Seed { get; init; }

    /// <summary>Completed iterations (batches).</summary>
    public int Iterations { get; init; }

    /// <summary>Updates (backward passes) so far.</summary>
    public long Updates { get; init; }

    /// <summary>Updates skipped as non-finite.</summary>
    public long SkippedUpdates { get; init; }

    /// <summary>Final images generated so far.</summary>
    public long Samples { get; init; }

    /// <summary>Model evaluations so far.</summary>
    public long NoiseEvaluations { get; init; }

    /// <summary>AdamW steps.</summary>
    public long OptimizerSteps { get; init; }

    /// <summary>Prompt cursor epoch.</summary>
    public int PromptEpoch { get; init; }

    /// <summary>Prompt cursor position.</summary>
    public int PromptPosition { get; init; }

    /// <summary>The method's state when it is an <see cref="Core.Abstractions.IStatefulComponent"/> (e.g. DDPO's per-prompt rewards), or null.</summary>
    public Dictionary<string, double[]>? MethodState
    {
        get => _methodState ?? LegacyPromptStatistics;
        init => _methodState = value;
    }

    private readonly Dictionary<string, double[]>? _methodState;

    /// <summary>Checkpoints written before methods became plug-ins stored DDPO's statistics under this name.</summary>
    [JsonInclude]
    [JsonPropertyName("PromptStatistics")]
    internal Dictionary<string, double[]>? LegacyPromptStatistics { get; init; }

    /// <summary>The reward model's state when it is an <see cref="Core.Abstractions.IStatefulComponent"/> (e.g. running normalisers), or null.</summary>
    public Dictionary<string, double[]>? RewardState { get; init; }
}
