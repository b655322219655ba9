using System.Globalization;
using System.Text.Json;
using TailorPO.Core.Errors;
using TailorPO.Core.Json;

namespace TailorPO.Core.Schedules;

/// <summary>
/// The DDIM noise-schedule settings of a diffusion model, as diffusers stores them in
/// <c>scheduler/scheduler_config.json</c>. Keys missing from a file take diffusers'
/// <c>DDIMScheduler</c> defaults (so SD v1.5's PNDM config, which lacks <c>timestep_spacing</c>,
/// reads as DDPO and D3PO read it); keys the library does not use are ignored. Values the library
/// cannot honour (an unknown <c>beta_schedule</c>, a <c>prediction_type</c> other than <c>epsilon</c>,
/// thresholding, zero-terminal-SNR rescaling) raise <see cref="SchedulerConfigException"/> naming the key and file.
/// </summary>
public sealed record SchedulerConfig
{
    /// <summary>Number of training timesteps N (<c>num_train_timesteps</c>); default 1000.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>First beta (<c>beta_start</c>); diffusers' DDIM default 0.0001, SD v1.5 uses 0.00085.</summary>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary>Last beta (<c>beta_end</c>); diffusers' DDIM default 0.02, SD v1.5 uses 0.012.</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>Beta layout (<c>beta_schedule</c>); diffusers' DDIM default <c>linear</c>, SD v1.5 uses <c>scaled_linear</c>.</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary>Explicit betas (<c>trained_betas</c>), one per training timestep; when set they replace the schedule.</summary>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary>Clamp x0_hat to [-<see cref="ClipSampleRange"/>, <see cref="ClipSampleRange"/>] (<c>clip_sample</c>); diffusers' default true, SD v1.5 false.</summary>
    public bool ClipSample { get; init; } = true;

    /// <summary>The clamp bound used when <see cref="ClipSample"/> is on (<c>clip_sample_range</c>); default 1.</summary>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>
    /// Use 1 as abar for the step after the last timestep (<c>set_alpha_to_one</c>); when false,
    /// abar[0] is used. diffusers' default true; SD v1.5 false.
    /// </summary>
    public bool SetAlphaToOne { get; init; } = true;

    /// <summary>Offset added to "leading" timesteps (<c>steps_offset</c>); diffusers' default 0, SD v1.5 1.</summary>
    public int StepsOffset { get; init; }

    /// <summary>What the network predicts (<c>prediction_type</c>); only <c>epsilon</c> is supported.</summary>
    public string PredictionType { get; init; } = "epsilon";

    /// <summary>Inference timestep layout (<c>timestep_spacing</c>); default <c>leading</c>.</summary>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Leading;

    /// <summary>Where the configuration came from (a file path, or a description); used in error messages.</summary>
    public string Source { get; init; } = "(in-memory)";

    /// <summary>
    /// Stable Diffusion v1.5's scheduler: scaled_linear betas from 0.00085 to 0.012 over 1000 steps,
    /// <c>steps_offset</c> 1, <c>set_alpha_to_one</c> false, no clipping, epsilon prediction, leading spacing.
    /// </summary>
    public static SchedulerConfig StableDiffusionV15 { get; } = new()
    {
        NumTrainTimesteps = 1000,
        BetaStart = 0.00085,
        BetaEnd = 0.012,
        BetaSchedule = BetaSchedule.ScaledLinear,
        ClipSample = false,
        SetAlphaToOne = false,
        StepsOffset = 1,
        PredictionType = "epsilon",
        TimestepSpacing = TimestepSpacing.Leading,
        Source = "(built-in Stable Diffusion v1.5)",
    };

    /// <summary>
    /// The default upper bound of <c>num_train_timesteps</c> accepted from a file (100,000; SD uses 1000).
    /// The schedule holds several tensors of that length, so a bigger value is refused before anything
    /// is allocated; pass another bound to <see cref="FromFile(string, int)"/> or <see cref="Parse(string, string, int)"/>.
    /// </summary>
    public const int DefaultMaxTrainTimesteps = 100_000;

    /// <summary>Reads a diffusers <c>scheduler_config.json</c> (at most <see cref="DefaultMaxTrainTimesteps"/> training timesteps).</summary>
    /// <param name="path">The file path.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SchedulerConfigException">The file is not valid UTF-8 JSON, gives a key twice, or holds an unusable value.</exception>
    public static SchedulerConfig FromFile(string path) => FromFile(path, DefaultMaxTrainTimesteps);

    /// <summary>Reads a diffusers <c>scheduler_config.json</c> with an explicit bound on <c>num_train_timesteps</c>.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="maxTrainTimesteps">The largest <c>num_train_timesteps</c> accepted.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SchedulerConfigException">The file is not valid UTF-8 JSON, gives a key twice, or holds an unusable value.</exception>
    public static SchedulerConfig FromFile(string path, int maxTrainTimesteps)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"Scheduler config '{full}' does not exist.", full);
        if (!StrictJson.TryParseFile(full, default, out var document, out var problem))
            throw new SchedulerConfigException(DuplicateKeyOf(problem), full, problem);
        using (document) return Parse(document.RootElement, full, maxTrainTimesteps);
    }

    /// <summary>Parses the JSON text of a diffusers scheduler config (at most <see cref="DefaultMaxTrainTimesteps"/> training timesteps).</summary>
    /// <param name="json">The JSON object.</param>
    /// <param name="source">Where the text came from, for error messages.</param>
    /// <exception cref="SchedulerConfigException">The text is not a JSON object, gives a key twice, or holds an unusable value.</exception>
    public static SchedulerConfig Parse(string json, string source = "(in-memory)") => Parse(json, source, DefaultMaxTrainTimesteps);

    /// <summary>Parses the JSON text of a diffusers scheduler config with an explicit bound on <c>num_train_timesteps</c>.</summary>
    /// <param name="json">The JSON object.</param>
    /// <param name="source">Where the text came from, for error messages.</param>
    /// <param name="maxTrainTimesteps">The largest <c>num_train_timesteps</c> accepted.</param>
    /// <exception cref="SchedulerConfigException">The text is not a JSON object, gives a key twice, or holds an unusable value.</exception>
    public static SchedulerConfig Parse(string json, string source, int maxTrainTimesteps)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!StrictJson.TryParse(json, default, out var document, out var problem))
            throw new SchedulerConfigException(DuplicateKeyOf(problem), source, problem);
        using (document) return Parse(document.RootElement, source, maxTrainTimesteps);
    }

    // The key a StrictJson problem names ("the key 'x' appears twice"), or "(file)".
    private static string DuplicateKeyOf(string problem)
    {
        const string marker = "the key '";
        int start = problem.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0) return "(file)";
        start += marker.Length;
        int end = problem.IndexOf('\'', start);
        return end > start ? problem[start..end] : "(file)";
    }

    private static SchedulerConfig Parse(JsonElement root, string source, int maxTrainTimesteps)
    {
        if (maxTrainTimesteps < 2)
            throw new ArgumentOutOfRangeException(nameof(maxTrainTimesteps), maxTrainTimesteps, "The bound on num_train_timesteps must be at least 2.");
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw new SchedulerConfigException("(file)", source, $"expected a JSON object, got {root.ValueKind}.");

            var reader = new Reader(root, source);
            var defaults = new SchedulerConfig();
            // Bounded first: the schedule allocates tensors of this length.
            var trainTimesteps = reader.Int("num_train_timesteps", defaults.NumTrainTimesteps, 2, maxTrainTimesteps);
            var config = new SchedulerConfig
            {
                Source = source,
                NumTrainTimesteps = trainTimesteps,
                BetaStart = reader.Double("beta_start", defaults.BetaStart),
                BetaEnd = reader.Double("beta_end", defaults.BetaEnd),
                BetaSchedule = ParseBetaSchedule(reader.String("beta_schedule", "linear"), source),
                TrainedBetas = reader.DoubleArray("trained_betas"),
                ClipSample = reader.Bool("clip_sample", defaults.ClipSample),
                ClipSampleRange = reader.Double("clip_sample_range", defaults.ClipSampleRange),
                SetAlphaToOne = reader.Bool("set_alpha_to_one", defaults.SetAlphaToOne),
                StepsOffset = reader.Int("steps_offset", defaults.StepsOffset, 0, maxTrainTimesteps),
                PredictionType = reader.String("prediction_type", defaults.PredictionType),
                TimestepSpacing = ParseSpacing(reader.String("timestep_spacing", "leading"), source),
            };

            if (reader.Bool("thresholding", false))
                throw new SchedulerConfigException("thresholding", source,
                    "dynamic thresholding (true) is not supported; it is meant for pixel-space models. Set it to false.");
            if (reader.Bool("rescale_betas_zero_snr", false))
                throw new SchedulerConfigException("rescale_betas_zero_snr", source,
                    "zero-terminal-SNR rescaling (true) is not supported: it needs v-prediction, and abar_T = 0 makes the epsilon x0_hat undefined. Set it to false.");

            config.Validate();
            return config;
        }
    }

    /// <summary>
    /// Checks every value the library uses; called by <see cref="Parse(string, string)"/> and by <see cref="NoiseSchedule"/>
    /// (so configs built in code are checked too).
    /// </summary>
    /// <exception cref="SchedulerConfigException">A value is out of range or unsupported.</exception>
    public void Validate()
    {
        if (NumTrainTimesteps < 2)
            throw new SchedulerConfigException("num_train_timesteps", Source, $"must be >= 2, got {NumTrainTimesteps}.");
        if (!string.Equals(PredictionType, "epsilon", StringComparison.Ordinal))
            throw new SchedulerConfigException("prediction_type", Source,
                $"'{PredictionType}' is not supported: the DDIM posterior, x0_hat and log-probabilities here assume the network predicts the noise ('epsilon', as SD v1.x does).");
        if (StepsOffset < 0)
            throw new SchedulerConfigException("steps_offset", Source, $"must be >= 0, got {StepsOffset}.");
        if (ClipSample && !(ClipSampleRange > 0))
            throw new SchedulerConfigException("clip_sample_range", Source, $"must be > 0 when clip_sample is true, got {ClipSampleRange}.");

        if (TrainedBetas is { } trained)
        {
            if (trained.Count != NumTrainTimesteps)
                throw new SchedulerConfigException("trained_betas", Source,
                    $"has {trained.Count} values but num_train_timesteps is {NumTrainTimesteps}; give one beta per training timestep.");
            for (var i = 0; i < trained.Count; i++)
            {
                if (!(trained[i] > 0 && trained[i] < 1))
                    throw new SchedulerConfigException("trained_betas", Source, $"value {i} is {trained[i]}; every beta must lie in (0, 1).");
            }
        }
        else if (BetaSchedule != BetaSchedule.SquaredCosCapV2)
        {
            if (!(BetaStart > 0 && BetaStart < 1))
                throw new SchedulerConfigException("beta_start", Source, $"must lie in (0, 1), got {BetaStart}.");
            if (!(BetaEnd > 0 && BetaEnd < 1))
                throw new SchedulerConfigException("beta_end", Source, $"must lie in (0, 1), got {BetaEnd}.");
        }
    }

    private static BetaSchedule ParseBetaSchedule(string value, string source) => value switch
    {
        "linear" => BetaSchedule.Linear,
        "scaled_linear" => BetaSchedule.ScaledLinear,
        "squaredcos_cap_v2" => BetaSchedule.SquaredCosCapV2,
        _ => throw new SchedulerConfigException("beta_schedule", source,
            $"'{value}' is not supported; expected 'linear', 'scaled_linear' or 'squaredcos_cap_v2' (the schedules diffusers' DDIMScheduler implements)."),
    };

    private static TimestepSpacing ParseSpacing(string value, string source) => value switch
    {
        "leading" => TimestepSpacing.Leading,
        "trailing" => TimestepSpacing.Trailing,
        "linspace" => TimestepSpacing.Linspace,
        _ => throw new SchedulerConfigException("timestep_spacing", source,
            $"'{value}' is not supported; expected 'leading', 'trailing' or 'linspace'."),
    };

    /// <summary>Typed access to the JSON keys with the key and file in every error.</summary>
    private readonly struct Reader(JsonElement root, string source)
    {
        private bool TryGet(string key, out JsonElement value) =>
            root.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

        public int Int(string key, int fallback, int min, int max)
        {
            if (!TryGet(key, out var v)) return fallback;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) && d == Math.Floor(d))
            {
                if (d < min || d > max)
                    throw new SchedulerConfigException(key, source, string.Create(CultureInfo.InvariantCulture, $"{v.GetRawText()} is out of range [{min}, {max}]."));
                return (int)d;
            }
            throw Wrong(key, "an integer", v);
        }

        public double Double(string key, double fallback)
        {
            if (!TryGet(key, out var v)) return fallback;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d)) return d;
            throw Wrong(key, "a finite number", v);
        }

        public bool Bool(string key, bool fallback)
        {
            if (!TryGet(key, out var v)) return fallback;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Wrong(key, "true or false", v),
            };
        }

        public string String(string key, string fallback)
        {
            if (!TryGet(key, out var v)) return fallback;
            return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Wrong(key, "a string", v);
        }

        public IReadOnlyList<double>? DoubleArray(string key)
        {
            if (!TryGet(key, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Array) throw Wrong(key, "an array of numbers or null", v);
            var values = new List<double>(v.GetArrayLength());
            foreach (var item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var d))
                    throw Wrong(key, "an array of numbers or null", item);
                values.Add(d);
            }
            return values;
        }

        private SchedulerConfigException Wrong(string key, string expected, JsonElement got) =>
            new(key, source, string.Create(CultureInfo.InvariantCulture, $"expected {expected}, got {got.ValueKind} {got.GetRawText()}."));
    }
}
