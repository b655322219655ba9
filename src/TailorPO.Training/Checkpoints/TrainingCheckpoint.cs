using System.Security.Cryptography;
using System.Text.Json;
using TailorPO.Core.Abstractions;
using TailorPO.Core.IO;
using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Training.Checkpoints;

/// <summary>
/// A resumable trainer state in one folder, in formats any tool reads: the adapters (PEFT safetensors through
/// <see cref="IAdapter.Save"/>), the optimizer moments and the generator state (<c>state.safetensors</c>), and a JSON
/// manifest (<c>state.json</c>) with the counters, the prompt cursor, the method's and the reward's state, and the
/// sha256 of both tensor files, checked on read. The folder is written next to its final place and renamed into it,
/// so a crash never leaves half a checkpoint.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The adapter file inside a checkpoint folder.</summary>
    public const string AdapterFile = "adapter.safetensors";

    /// <summary>The tensor state file (optimizer moments, generator state).</summary>
    public const string TensorFile = "state.safetensors";

    /// <summary>The manifest: counters, cursor, component states and the files' checksums.</summary>
    public const string CountersFile = "state.json";

    /// <summary>The manifest's format version.</summary>
    public const int FormatVersion = 2;

    /// <summary>The tensor file of checkpoints written before version 2 (a format of the library's own).</summary>
    private const string LegacyTensorFile = "state.bin";

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
        if (!Directory.Exists(full)) CrashTestHook.Reach(CrashTestHook.BeforeFirstCheckpoint);
        Directory.CreateDirectory(staging);
        try
        {
            adapter.Save(Path.Combine(staging, AdapterFile));
            SafetensorsWriter.Save(Path.Combine(staging, TensorFile), tensors,
                new Dictionary<string, string> { ["format"] = "pt", ["tailorpo"] = "trainer-checkpoint" });
            var manifest = counters with
            {
                FormatVersion = FormatVersion,
                Files = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [AdapterFile] = Sha256(Path.Combine(staging, AdapterFile)),
                    [TensorFile] = Sha256(Path.Combine(staging, TensorFile)),
                },
            };
            AtomicFile.WriteAllText(Path.Combine(staging, CountersFile), JsonSerializer.Serialize(manifest, JsonOptions));
            if (Directory.Exists(full))
            {
                Directory.Move(full, retired);
                CrashTestHook.Reach(CrashTestHook.BetweenSwapRenames);
            }
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

    /// <summary>
    /// Finishes or rolls back a checkpoint swap that a crash interrupted, and removes its leftovers. <see cref="Write"/>
    /// stages the new checkpoint in <c>.NAME.tmp-*</c> and retires the previous one to <c>.NAME.old-*</c> before renaming;
    /// a process killed between those renames leaves no <paramref name="folder"/> but one or two complete checkpoints
    /// beside it. When <paramref name="folder"/> is missing, the newest complete and verified leftover (manifest present,
    /// every checksum matching; newest by iteration, then samples) is moved into place. Every other leftover is deleted.
    /// </summary>
    /// <param name="folder">The checkpoint folder (e.g. <c>run/checkpoint</c>).</param>
    /// <returns>True when <paramref name="folder"/> holds a checkpoint afterwards.</returns>
    public static bool Recover(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return false;
        var name = Path.GetFileName(full);
        var leftovers = Directory.EnumerateDirectories(parent, $".{name}.tmp-*")
            .Concat(Directory.EnumerateDirectories(parent, $".{name}.old-*"))
            .ToList();
        if (!Directory.Exists(full))
        {
            var newest = leftovers
                .Select(candidate => (Folder: candidate, Counters: TryVerify(candidate)))
                .Where(c => c.Counters is not null)
                .OrderByDescending(c => c.Counters!.Iterations)
                .ThenByDescending(c => c.Counters!.Samples)
                .Select(c => c.Folder)
                .FirstOrDefault();
            if (newest is not null)
            {
                Directory.Move(newest, full);
                leftovers.Remove(newest);
            }
        }
        foreach (var leftover in leftovers) Directory.Delete(leftover, recursive: true);
        return Directory.Exists(full);
    }

    /// <summary>Reads the counters and tensors of a checkpoint folder (the adapter is loaded by the trainer).</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">A file is missing, malformed, or not the file the manifest recorded; or the
    /// checkpoint is of an earlier format.</exception>
    public static (TrainerCounters Counters, Dictionary<string, Tensor> Tensors) Read(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"The checkpoint folder '{folder}' does not exist.");
        var counters = Verify(folder);
        try
        {
            return (counters, SafetensorsFile.LoadAll(Path.Combine(folder, TensorFile)));
        }
        catch (SafetensorsFormatException ex)
        {
            throw new InvalidDataException($"'{Path.Combine(folder, TensorFile)}' is malformed: {ex.Message}", ex);
        }
    }

    /// <summary>The manifest of a complete checkpoint whose files match their checksums, or null.</summary>
    private static TrainerCounters? TryVerify(string folder)
    {
        try
        {
            return Verify(folder);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Reads the manifest and checks that every file it records is present and unchanged.</summary>
    private static TrainerCounters Verify(string folder)
    {
        if (File.Exists(Path.Combine(folder, LegacyTensorFile)) && !File.Exists(Path.Combine(folder, TensorFile)))
            throw new InvalidDataException(
                $"'{folder}' is a checkpoint of an earlier TailorPO.NET version ({LegacyTensorFile}, the library's own tensor format), which this " +
                $"version does not resume: checkpoints are now safetensors with a checksummed manifest. Its adapters ({AdapterFile}) still load " +
                "with LoraAdapter / IAdapter.Load; start the run again to get a resumable checkpoint.");
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
        if (counters.FormatVersion != FormatVersion)
            throw new InvalidDataException($"'{Path.Combine(folder, CountersFile)}' has format version {counters.FormatVersion}; this version reads {FormatVersion}.");
        foreach (var file in new[] { AdapterFile, TensorFile })
        {
            var path = Path.Combine(folder, file);
            if (counters.Files is null || !counters.Files.TryGetValue(file, out var expected))
                throw new InvalidDataException($"'{Path.Combine(folder, CountersFile)}' records no checksum for {file}.");
            if (!string.Equals(Sha256(path), expected, StringComparison.Ordinal))
                throw new InvalidDataException($"'{path}' is not the file the checkpoint wrote (its sha256 differs from the manifest's): it was changed or damaged.");
        }
        return counters;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}

/// <summary>The trainer's counters as saved in a checkpoint.</summary>
public sealed record TrainerCounters
{
    /// <summary>The manifest's format version (<see cref="TrainingCheckpoint.FormatVersion"/>; 0 in checkpoints before it existed).</summary>
    public int FormatVersion { get; init; }

    /// <summary>The sha256 (lower-case hex) of each tensor file of the checkpoint, by file name.</summary>
    public Dictionary<string, string>? Files { get; init; }

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
    public Dictionary<string, double[]>? MethodState { get; init; }

    /// <summary>
    /// The length of each <see cref="Metrics.IResumableMetricsSink"/>'s output when the checkpoint was written, by sink
    /// name (bytes of metrics.csv and metrics.jsonl): resume cuts each back to it, so no row appears twice or broken.
    /// </summary>
    public Dictionary<string, long>? MetricsLengths { get; init; }

    /// <summary>
    /// The reward-hacking guard's state (history, best gold, streak) when the run has a gold-metric guard, or null; its best
    /// adapters are tensors of <see cref="TrainingCheckpoint.TensorFile"/> named <c>gold_guard.best.NAME</c>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Guarding.GoldMetricGuardState? GoldMetricGuard { get; init; }

    /// <summary>The reward model's state when it is an <see cref="Core.Abstractions.IStatefulComponent"/> (e.g. running normalisers), or null.</summary>
    public Dictionary<string, double[]>? RewardState { get; init; }
}
