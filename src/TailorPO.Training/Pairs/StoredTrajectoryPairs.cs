using System.Globalization;
using System.Text;
using TailorPO.Core.IO;
using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Training.Pairs;

/// <summary>
/// The labelled trajectory pairs the labelling app exports for D3PO (samples/TailorPO.Labeling, docs/human-preferences.md):
/// a CSV <c>trajectory-pairs.csv</c> with the header <c>prompt,seed,preferred,dispreferred,preferred_votes,dispreferred_votes,ties</c>,
/// one majority-decided pair per line, and per trajectory a safetensors file (path relative to the CSV, or absolute)
/// holding <c>latents</c> [S + 1, C, H, W] (x_T ... x_0), <c>timesteps</c> [S] and <c>log_probs</c> [S] (the element-mean
/// log-probability of each step when it was sampled), with the metadata <c>prompt</c>, <c>seed</c>, <c>sampler</c>,
/// <c>scheduler</c>, <c>steps</c>, <c>eta</c> and <c>guidance_scale</c>.
/// </summary>
/// <remarks>
/// <see cref="Open"/> checks everything before training starts - the CSV, every file's header, shapes, metadata and
/// timesteps - and each problem names the file (and the CSV line). A row whose preferred and dis-preferred vote counts
/// are equal is a tie: it carries no preference and is left out (<see cref="ExcludedTies"/>); the app's export never
/// writes one. Tensors are read from disk when a batch asks for them, so the set may be larger than memory.
/// </remarks>
public sealed class StoredTrajectoryPairs : ILabelledTrajectorySource
{
    /// <summary>The CSV's file name, looked for when a folder is given.</summary>
    public const string FileName = "trajectory-pairs.csv";

    /// <summary>Tensor names in a trajectory file.</summary>
    public const string LatentsName = "latents", TimestepsName = "timesteps", LogProbabilitiesName = "log_probs";

    /// <summary>Metadata keys of a trajectory file.</summary>
    public const string PromptKey = "prompt", SeedKey = "seed", SamplerKey = "sampler", SchedulerKey = "scheduler", StepsKey = "steps",
        EtaKey = "eta", GuidanceScaleKey = "guidance_scale";

    /// <summary>The CSV's header.</summary>
    public static IReadOnlyList<string> Header { get; } = ["prompt", "seed", "preferred", "dispreferred", "preferred_votes", "dispreferred_votes", "ties"];

    private readonly IReadOnlyList<Row> _rows;

    private StoredTrajectoryPairs(string origin, IReadOnlyList<Row> rows, TrajectorySampling sampling, long[] latentShape, int excludedTies)
    {
        Origin = origin;
        _rows = rows;
        Sampling = sampling;
        LatentShape = latentShape;
        ExcludedTies = excludedTies;
    }

    /// <inheritdoc />
    public int Count => _rows.Count;

    /// <inheritdoc />
    public TrajectorySampling Sampling { get; }

    /// <inheritdoc />
    public string Origin { get; }

    /// <summary>The shape [C, H, W] of one latent.</summary>
    public IReadOnlyList<long> LatentShape { get; }

    /// <summary>Rows left out because their vote counts tie.</summary>
    public int ExcludedTies { get; }

    /// <summary>Reads and checks an export.</summary>
    /// <param name="path">The CSV, or a folder holding <see cref="FileName"/>.</param>
    /// <exception cref="FileNotFoundException">The CSV or a trajectory file it names does not exist.</exception>
    /// <exception cref="InvalidDataException">A malformed CSV line or trajectory file, files that disagree in shape or
    /// sampling settings, or no decided pair; the message names the file and the CSV line.</exception>
    public static StoredTrajectoryPairs Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var csv = Path.GetFullPath(Directory.Exists(path) ? Path.Combine(path, FileName) : path);
        if (!File.Exists(csv))
            throw new FileNotFoundException($"The labelled trajectory pairs '{csv}' do not exist; export them with the labelling app's 'export' command (it writes {FileName}).", csv);
        var folder = Path.GetDirectoryName(csv)!;
        var rows = new List<Row>();
        var ties = 0;
        var lineNumber = 0;
        Reference? reference = null;
        foreach (var line in File.ReadLines(csv, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var fields = CsvFields.Split(line, csv, lineNumber);
            if (lineNumber == 1)
            {
                if (!fields.Select(f => f.Trim()).SequenceEqual(Header, StringComparer.OrdinalIgnoreCase))
                    throw new InvalidDataException($"{csv}:1: the header must be '{string.Join(",", Header)}'; got '{line}'.");
                continue;
            }
            var at = $"{csv}:{lineNumber}";
            if (fields.Count != Header.Count)
                throw new InvalidDataException($"{at}: expected {Header.Count} fields ({string.Join(", ", Header)}); got {fields.Count}.");
            var prompt = fields[0];
            if (string.IsNullOrWhiteSpace(prompt)) throw new InvalidDataException($"{at}: the prompt is empty.");
            var seed = Integer(fields[1], "seed", at);
            var (preferredVotes, dispreferredVotes) = (Integer(fields[4], "preferred_votes", at), Integer(fields[5], "dispreferred_votes", at));
            if (Integer(fields[6], "ties", at) < 0 || preferredVotes < 0 || dispreferredVotes < 0)
                throw new InvalidDataException($"{at}: vote counts cannot be negative.");
            if (preferredVotes < dispreferredVotes)
                throw new InvalidDataException($"{at}: preferred_votes ({preferredVotes}) is below dispreferred_votes ({dispreferredVotes}); the preferred trajectory must have the majority.");
            if (preferredVotes == dispreferredVotes)
            {
                ties++; // no majority: no preference to learn from
                continue;
            }
            var preferred = Trajectory(fields[2], "preferred", folder, at);
            var dispreferred = Trajectory(fields[3], "dispreferred", folder, at);
            foreach (var file in new[] { preferred, dispreferred })
                reference = Check(file, prompt, seed, at, reference);
            rows.Add(new Row(prompt, preferred, dispreferred));
        }
        if (lineNumber == 0) throw new InvalidDataException($"{csv} is empty; expected the header '{string.Join(",", Header)}' and one pair per line.");
        if (rows.Count == 0)
            throw new InvalidDataException($"{csv} holds no decided pair ({ties} tied rows are left out); label more pairs and export again.");
        return new StoredTrajectoryPairs(csv, rows, reference!.Sampling, reference.LatentShape, ties);
    }

    /// <inheritdoc />
    public LabelledTrajectoryBatch Get(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using var scope = NewDisposeScope();
        var rows = indices.Select(i => _rows[i]).ToList();
        var preferred = rows.Select(r => Load(r.Preferred)).ToList();
        var dispreferred = rows.Select(r => Load(r.Dispreferred)).ToList();
        var batch = new LabelledTrajectoryBatch(rows.Select(r => r.Prompt).ToArray(),
            stack(preferred.Select(p => p.Latents)).MoveToOuterDisposeScope(), stack(preferred.Select(p => p.LogProbabilities)).MoveToOuterDisposeScope(),
            stack(dispreferred.Select(p => p.Latents)).MoveToOuterDisposeScope(), stack(dispreferred.Select(p => p.LogProbabilities)).MoveToOuterDisposeScope());
        return batch;
    }

    private (Tensor Latents, Tensor LogProbabilities) Load(string path)
    {
        using var file = OpenTrajectory(path, "");
        var latents = file.Read(LatentsName);
        var logProbabilities = file.Read(LogProbabilitiesName);
        var steps = Sampling.Steps;
        if (!latents.shape.SequenceEqual(new long[] { steps + 1 }.Concat(LatentShape)) || !logProbabilities.shape.SequenceEqual([steps]))
            throw new InvalidDataException($"'{path}' changed since it was checked: latents [{string.Join(", ", latents.shape)}], log_probs [{string.Join(", ", logProbabilities.shape)}].");
        return (latents.to_type(ScalarType.Float32), logProbabilities.to_type(ScalarType.Float32));
    }

    private static long Integer(string field, string column, string at) =>
        long.TryParse(field.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidDataException($"{at}: {column} must be an integer; got '{field}'.");

    private static string Trajectory(string field, string column, string folder, string at)
    {
        if (string.IsNullOrWhiteSpace(field)) throw new InvalidDataException($"{at}: the {column} trajectory path is empty.");
        var full = Path.GetFullPath(Path.Combine(folder, field.Trim()));
        return File.Exists(full) ? full : throw new FileNotFoundException($"{at}: the {column} trajectory '{full}' does not exist.", full);
    }

    private static SafetensorsFile OpenTrajectory(string path, string at)
    {
        try
        {
            return SafetensorsFile.Open(path);
        }
        catch (SafetensorsFormatException e)
        {
            throw new InvalidDataException($"{at}{(at.Length > 0 ? ": " : "")}'{path}' is not a readable trajectory file: {e.Problem}", e);
        }
    }

    /// <summary>Checks one trajectory file against its row and against the first file; returns the reference.</summary>
    private static Reference Check(string path, string prompt, long seed, string at, Reference? reference)
    {
        using var file = OpenTrajectory(path, at);
        foreach (var name in new[] { LatentsName, TimestepsName, LogProbabilitiesName })
            if (!file.Contains(name)) throw new InvalidDataException($"{at}: '{path}' has no '{name}' tensor (it needs {LatentsName}, {TimestepsName} and {LogProbabilitiesName}).");
        var latents = file.Entries[LatentsName].Shape;
        var timesteps = file.Entries[TimestepsName].Shape;
        var logs = file.Entries[LogProbabilitiesName].Shape;
        if (latents.Length != 4 || latents[0] < 2)
            throw new InvalidDataException($"{at}: '{path}' has latents [{string.Join(", ", latents)}]; expected [S + 1, C, H, W] with S >= 1 steps.");
        var steps = latents[0] - 1;
        if (!timesteps.SequenceEqual([steps]) || !logs.SequenceEqual([steps]))
            throw new InvalidDataException($"{at}: '{path}' has latents for {steps} steps but timesteps [{string.Join(", ", timesteps)}] and log_probs [{string.Join(", ", logs)}]; expected [{steps}] each.");
        string Meta(string key) => file.Metadata.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new InvalidDataException($"{at}: '{path}' has no '{key}' metadata (it needs {string.Join(", ", new[] { PromptKey, SeedKey, SamplerKey, SchedulerKey, StepsKey, EtaKey, GuidanceScaleKey })}); generate the tasks again with the labelling app.");
        double Number(string key) => double.TryParse(Meta(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new InvalidDataException($"{at}: '{path}' has {key} '{Meta(key)}'; expected a number.");
        if (Meta(PromptKey) != prompt)
            throw new InvalidDataException($"{at}: '{path}' was generated for the prompt '{Meta(PromptKey)}', but the row's prompt is '{prompt}'.");
        if (Meta(SeedKey) != seed.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{at}: '{path}' was generated with seed {Meta(SeedKey)}, but the row's seed is {seed}.");
        if (Number(StepsKey) != steps)
            throw new InvalidDataException($"{at}: '{path}' has steps {Meta(StepsKey)} in its metadata but latents for {steps} steps.");
        long[] stepTimesteps;
        using (var t = file.Read(TimestepsName).to_type(ScalarType.Int64))
            stepTimesteps = t.data<long>().ToArray();
        var sampling = new TrajectorySampling(Meta(SamplerKey), Meta(SchedulerKey), (int)steps, Number(EtaKey), Number(GuidanceScaleKey), stepTimesteps);
        var shape = latents[1..];
        if (reference is null) return new Reference(path, sampling, shape);
        if (!shape.SequenceEqual(reference.LatentShape))
            throw new InvalidDataException($"{at}: '{path}' holds latents of shape [{string.Join(", ", shape)}], but '{reference.Path}' holds [{string.Join(", ", reference.LatentShape)}]; every trajectory must have one shape.");
        if (Difference(sampling, reference.Sampling) is { } difference)
            throw new InvalidDataException($"{at}: '{path}' was sampled with {difference.Mine}, but '{reference.Path}' with {difference.Theirs}; every trajectory of an export must share its sampling settings.");
        return reference;
    }

    /// <summary>The first setting in which <paramref name="a"/> and <paramref name="b"/> differ, each side named with its value, or null.</summary>
    internal static (string Mine, string Theirs)? Difference(TrajectorySampling a, TrajectorySampling b)
    {
        var c = CultureInfo.InvariantCulture;
        if (a.Sampler != b.Sampler) return ($"sampler '{a.Sampler}'", $"sampler '{b.Sampler}'");
        if (a.Scheduler != b.Scheduler) return ($"scheduler '{a.Scheduler}'", $"scheduler '{b.Scheduler}'");
        if (a.Steps != b.Steps) return ($"{a.Steps} steps", $"{b.Steps} steps");
        if (a.Eta != b.Eta) return (string.Create(c, $"eta {a.Eta:R}"), string.Create(c, $"eta {b.Eta:R}"));
        if (a.GuidanceScale != b.GuidanceScale) return (string.Create(c, $"guidance scale {a.GuidanceScale:R}"), string.Create(c, $"guidance scale {b.GuidanceScale:R}"));
        if (!a.Timesteps.SequenceEqual(b.Timesteps)) return ($"timesteps {string.Join(",", a.Timesteps)}", $"timesteps {string.Join(",", b.Timesteps)}");
        return null;
    }

    private sealed record Row(string Prompt, string Preferred, string Dispreferred);

    private sealed record Reference(string Path, TrajectorySampling Sampling, long[] LatentShape);
}
