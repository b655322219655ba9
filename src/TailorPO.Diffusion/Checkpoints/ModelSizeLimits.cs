using System.Globalization;
using TailorPO.Core.Schedules;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// How big a model a config may describe before anything is allocated. Every config reader first
/// checks each key against a fixed sane range (e.g. <c>layers_per_block</c> in [1, 64]; the ranges
/// are listed in <c>docs/models-and-checkpoints.md</c>), then computes the model's parameter count
/// from the config alone and refuses it above <see cref="MaxParameters"/> with a
/// <see cref="ModelConfigException"/> naming the file and the keys that set the size. Raise the limit
/// for a bigger model you trust; the default admits every SD v1.x / v2.x part with a wide margin.
/// </summary>
public sealed record ModelSizeLimits
{
    /// <summary>Default bound on the parameters of one model: 2,000,000,000 (8 GB in float32; SD v1.5's UNet has 859,520,964).</summary>
    public const long DefaultMaxParameters = 2_000_000_000;

    /// <summary>The default limits.</summary>
    public static ModelSizeLimits Default { get; } = new();

    /// <summary>The largest parameter count accepted for one model (UNet, VAE, text or vision encoder).</summary>
    public long MaxParameters { get; init; } = DefaultMaxParameters;

    /// <summary>The largest <c>num_train_timesteps</c> accepted from a scheduler config (the schedule's length).</summary>
    public int MaxTrainTimesteps { get; init; } = SchedulerConfig.DefaultMaxTrainTimesteps;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not positive.</exception>
    public void Validate()
    {
        if (MaxParameters < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxParameters), MaxParameters, "ModelSizeLimits.MaxParameters must be positive.");
        if (MaxTrainTimesteps < 2)
            throw new ArgumentOutOfRangeException(nameof(MaxTrainTimesteps), MaxTrainTimesteps, "ModelSizeLimits.MaxTrainTimesteps must be at least 2.");
    }

    /// <summary>The problem when <paramref name="parameters"/> exceeds the limit, naming the keys that drive the size; else null.</summary>
    internal string? ParameterProblem(Int128 parameters, string model, string sizeKeys)
    {
        if (parameters <= MaxParameters) return null;
        var gigabytes = (double)parameters * 4 / 1e9;
        return string.Create(CultureInfo.InvariantCulture,
            $"the config describes a {model} of {parameters:N0} parameters ({gigabytes:G3} GB in float32), above the limit of {MaxParameters:N0} (ModelSizeLimits.MaxParameters; raise it for a model you trust). The size comes from {sizeKeys}");
    }

    /// <summary>"'key' = value is out of range [min, max]".</summary>
    internal static string OutOfRange(string key, object value, long min, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"'{key}' = {value} is out of range [{min}, {max}]");
}

/// <summary>Parameter counts of the building blocks, in exact 128-bit arithmetic (no overflow for any bounded config).</summary>
internal static class ParameterMath
{
    public static Int128 Linear(Int128 input, Int128 output, bool bias = true) => input * output + (bias ? output : 0);

    public static Int128 Conv(Int128 input, Int128 output, Int128 kernel, bool bias = true) => input * output * kernel * kernel + (bias ? output : 0);

    public static Int128 Norm(Int128 channels) => 2 * channels;

    /// <summary>diffusers' ResnetBlock2D.</summary>
    public static Int128 Resnet(Int128 input, Int128 output, Int128? temb, bool scaleShift = false) =>
        Norm(input) + Conv(input, output, 3) + (temb is { } t ? Linear(t, scaleShift ? 2 * output : output) : 0)
        + Norm(output) + Conv(output, output, 3) + (input != output ? Conv(input, output, 1) : 0);
}
