using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// The VAE's configuration, read from a diffusers <c>AutoencoderKL</c> <c>config.json</c> (e.g.
/// SD v1.5's <c>vae/</c>). Keys absent from the file take diffusers 0.21's defaults.
/// </summary>
public sealed record AutoencoderKLConfig
{
    /// <summary>The only encoder block type diffusers' AutoencoderKL uses.</summary>
    public const string DownEncoderBlock = "DownEncoderBlock2D";

    /// <summary>The only decoder block type diffusers' AutoencoderKL uses.</summary>
    public const string UpDecoderBlock = "UpDecoderBlock2D";

    /// <summary>Image channels in.</summary>
    public long InChannels { get; init; } = 3;

    /// <summary>Image channels out.</summary>
    public long OutChannels { get; init; } = 3;

    /// <summary>Encoder block types, one per resolution (all <see cref="DownEncoderBlock"/>).</summary>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = [DownEncoderBlock];

    /// <summary>Decoder block types, one per resolution (all <see cref="UpDecoderBlock"/>).</summary>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = [UpDecoderBlock];

    /// <summary>Channels per resolution, from the image side inwards.</summary>
    public IReadOnlyList<long> BlockOutChannels { get; init; } = [64];

    /// <summary>Resnets per encoder block (the decoder uses one more per block).</summary>
    public long LayersPerBlock { get; init; } = 1;

    /// <summary>Activation of every resnet and of the output heads.</summary>
    public string ActFn { get; init; } = "silu";

    /// <summary>Latent channels (4 in SD).</summary>
    public long LatentChannels { get; init; } = 4;

    /// <summary>GroupNorm groups of every norm.</summary>
    public long NormNumGroups { get; init; } = 32;

    /// <summary>Nominal image size (informational).</summary>
    public long SampleSize { get; init; } = 32;

    /// <summary>
    /// Latents are multiplied by this after encoding and divided by it before decoding
    /// (0.18215 in SD v1.x). The model's own encode/decode do not apply it.
    /// </summary>
    public double ScalingFactor { get; init; } = 0.18215;

    /// <summary>Added after the division by <see cref="ScalingFactor"/> before decoding (null = 0, as in SD v1.x).</summary>
    public double? ShiftFactor { get; init; }

    /// <summary>diffusers pipelines decode in float32 when this is set and the VAE is float16 (informational).</summary>
    public bool ForceUpcast { get; init; } = true;

    /// <summary>Whether the 1x1 <c>quant_conv</c> exists (true in SD).</summary>
    public bool UseQuantConv { get; init; } = true;

    /// <summary>Whether the 1x1 <c>post_quant_conv</c> exists (true in SD).</summary>
    public bool UsePostQuantConv { get; init; } = true;

    /// <summary>Whether the mid blocks have their self-attention (true in SD).</summary>
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>Total downsampling factor between images and latents: 2^(blocks - 1).</summary>
    public long DownsamplingFactor => 1L << (BlockOutChannels.Count - 1);

    /// <summary>SD v1.5's VAE (83.7M parameters, 512x512 images to 4x64x64 latents).</summary>
    public static AutoencoderKLConfig StableDiffusionV15 { get; } = new()
    {
        DownBlockTypes = [DownEncoderBlock, DownEncoderBlock, DownEncoderBlock, DownEncoderBlock],
        UpBlockTypes = [UpDecoderBlock, UpDecoderBlock, UpDecoderBlock, UpDecoderBlock],
        BlockOutChannels = [128, 256, 512, 512],
        LayersPerBlock = 2,
        NormNumGroups = 32,
        SampleSize = 512,
        ScalingFactor = 0.18215,
        ForceUpcast = true,
    };

    /// <summary>
    /// The range every integer key must lie in (checked on read and by <see cref="Validate"/>, before
    /// anything is allocated); <c>block_out_channels</c> holds 1 to <see cref="MaxBlocks"/> entries.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (long Min, long Max)> IntegerRanges = new Dictionary<string, (long, long)>(StringComparer.Ordinal)
    {
        ["in_channels"] = (1, 1_024),
        ["out_channels"] = (1, 1_024),
        ["block_out_channels"] = (1, 65_536),
        ["layers_per_block"] = (1, 64),
        ["latent_channels"] = (1, 1_024),
        ["norm_num_groups"] = (1, 65_536),
        ["sample_size"] = (1, 65_536),
    };

    /// <summary>The most resolutions (entries of <c>block_out_channels</c>) accepted.</summary>
    public const int MaxBlocks = 8;

    /// <summary>Reads a <c>config.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The file is malformed, gives a key twice, or holds an unusable or out-of-range value.</exception>
    public static AutoencoderKLConfig FromFile(string path, ModelSizeLimits? limits = null) => From(JsonConfigObject.Load(path), limits);

    /// <summary>Parses config JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">The text is malformed, gives a key twice, or holds an unusable or out-of-range value.</exception>
    public static AutoencoderKLConfig FromJson(string json, string source = "in-memory config", ModelSizeLimits? limits = null) =>
        From(JsonConfigObject.Parse(json, source), limits);

    private static long Int(JsonConfigObject root, string key, long fallback)
    {
        var (min, max) = IntegerRanges[key];
        return root.Int(key, fallback, min, max);
    }

    internal static AutoencoderKLConfig From(JsonConfigObject root, ModelSizeLimits? limits = null)
    {
        var className = root.String("_class_name", nameof(AutoencoderKL));
        if (className != nameof(AutoencoderKL))
            throw root.Invalid("_class_name", $"is '{className}', but this loader builds an AutoencoderKL.");
        var defaults = new AutoencoderKLConfig();
        var config = new AutoencoderKLConfig
        {
            InChannels = Int(root, "in_channels", defaults.InChannels),
            OutChannels = Int(root, "out_channels", defaults.OutChannels),
            DownBlockTypes = root.StringList("down_block_types", defaults.DownBlockTypes),
            UpBlockTypes = root.StringList("up_block_types", defaults.UpBlockTypes),
            BlockOutChannels = root.IntList("block_out_channels", defaults.BlockOutChannels,
                IntegerRanges["block_out_channels"].Min, IntegerRanges["block_out_channels"].Max, MaxBlocks),
            LayersPerBlock = Int(root, "layers_per_block", defaults.LayersPerBlock),
            ActFn = root.String("act_fn", defaults.ActFn),
            LatentChannels = Int(root, "latent_channels", defaults.LatentChannels),
            NormNumGroups = Int(root, "norm_num_groups", defaults.NormNumGroups),
            SampleSize = SampleSizeOf(root, defaults.SampleSize),
            ScalingFactor = root.Double("scaling_factor", defaults.ScalingFactor),
            ShiftFactor = root.Has("shift_factor") ? root.Double("shift_factor", 0) : null,
            ForceUpcast = root.Bool("force_upcast", defaults.ForceUpcast),
            UseQuantConv = root.Bool("use_quant_conv", defaults.UseQuantConv),
            UsePostQuantConv = root.Bool("use_post_quant_conv", defaults.UsePostQuantConv),
            MidBlockAddAttention = root.Bool("mid_block_add_attention", defaults.MidBlockAddAttention),
        };
        if (root.Has("latents_mean") || root.Has("latents_std"))
            throw root.Invalid("latents_mean", "is set: per-channel latent statistics (SDXL-style VAEs) are not supported by this loader.");
        config.Validate(root.Source, limits);
        return config;
    }

    // diffusers accepts sample_size as an int or an [H, W] list.
    private static long SampleSizeOf(JsonConfigObject root, long fallback)
    {
        var (min, max) = IntegerRanges["sample_size"];
        return root.Has("sample_size") && root.IsArray("sample_size")
            ? root.IntList("sample_size", [fallback], min, max, 2).FirstOrDefault(fallback)
            : root.Int("sample_size", fallback, min, max);
    }

    /// <summary>The exact number of parameters the model built from this (valid) config has.</summary>
    internal Int128 CountParameters()
    {
        Int128 Resnets(Int128 input, Int128 output, Int128 layers) =>
            ParameterMath.Resnet(input, output, null) + (layers - 1) * ParameterMath.Resnet(output, output, null);
        Int128 Mid(Int128 c) => 2 * ParameterMath.Resnet(c, c, null)
            + (MidBlockAddAttention ? ParameterMath.Norm(c) + 4 * ParameterMath.Linear(c, c) : 0);
        int n = BlockOutChannels.Count;
        Int128 first = BlockOutChannels[0], last = BlockOutChannels[^1], latent = LatentChannels;

        Int128 encoder = ParameterMath.Conv(InChannels, first, 3);
        for (int i = 0; i < n; i++)
        {
            Int128 output = BlockOutChannels[i];
            encoder += Resnets(i == 0 ? first : BlockOutChannels[i - 1], output, LayersPerBlock);
            if (i < n - 1) encoder += ParameterMath.Conv(output, output, 3);
        }
        encoder += Mid(last) + ParameterMath.Norm(last) + ParameterMath.Conv(last, 2 * latent, 3);

        Int128 decoder = ParameterMath.Conv(latent, last, 3) + Mid(last);
        for (int i = 0; i < n; i++)
        {
            Int128 output = BlockOutChannels[n - 1 - i], input = i == 0 ? last : BlockOutChannels[n - i];
            decoder += Resnets(input, output, LayersPerBlock + 1);
            if (i < n - 1) decoder += ParameterMath.Conv(output, output, 3);
        }
        decoder += ParameterMath.Norm(first) + ParameterMath.Conv(first, OutChannels, 3);

        return encoder + decoder
            + (UseQuantConv ? ParameterMath.Conv(2 * latent, 2 * latent, 1) : 0)
            + (UsePostQuantConv ? ParameterMath.Conv(latent, latent, 1) : 0);
    }

    /// <summary>Checks that the values describe a buildable model within <paramref name="limits"/>.</summary>
    /// <param name="source">The config's file, for the message.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">A value is out of range; the message names it.</exception>
    public void Validate(string source = "in-memory config", ModelSizeLimits? limits = null)
    {
        void InRange(string key, long value)
        {
            var (min, max) = IntegerRanges[key];
            if (value < min || value > max) throw new ModelConfigException(source, ModelSizeLimits.OutOfRange(key, value, min, max) + ".");
        }
        InRange("in_channels", InChannels);
        InRange("out_channels", OutChannels);
        InRange("layers_per_block", LayersPerBlock);
        InRange("latent_channels", LatentChannels);
        InRange("norm_num_groups", NormNumGroups);
        InRange("sample_size", SampleSize);
        if (BlockOutChannels.Count == 0)
            throw new ModelConfigException(source, "'block_out_channels' is empty.");
        if (BlockOutChannels.Count > MaxBlocks)
            throw new ModelConfigException(source, $"'block_out_channels' has {BlockOutChannels.Count} entries, out of range [1, {MaxBlocks}].");
        foreach (var channels in BlockOutChannels)
        {
            InRange("block_out_channels", channels);
            if (channels % NormNumGroups != 0)
                throw new ModelConfigException(source, $"'block_out_channels' entry {channels} is not a multiple of 'norm_num_groups' {NormNumGroups}.");
        }
        CheckTypes(source, "down_block_types", DownBlockTypes, DownEncoderBlock);
        CheckTypes(source, "up_block_types", UpBlockTypes, UpDecoderBlock);
        if (!Activation.IsKnown(ActFn))
            throw new ModelConfigException(source, $"'act_fn' is '{ActFn}'; supported: {string.Join(", ", Activation.Names)}.");
        if (!(ScalingFactor > 0) || double.IsInfinity(ScalingFactor))
            throw new ModelConfigException(source, $"'scaling_factor' is {ScalingFactor}, expected a positive number.");
        if (ShiftFactor is { } shift && !double.IsFinite(shift))
            throw new ModelConfigException(source, $"'shift_factor' is {shift}, expected a finite number.");
        var tooBig = (limits ?? ModelSizeLimits.Default).ParameterProblem(CountParameters(), "VAE",
            $"block_out_channels [{string.Join(", ", BlockOutChannels)}] and layers_per_block {LayersPerBlock}");
        if (tooBig is not null) throw new ModelConfigException(source, tooBig + ".");
    }

    private void CheckTypes(string source, string key, IReadOnlyList<string> types, string supported)
    {
        if (types.Count != BlockOutChannels.Count)
            throw new ModelConfigException(source, $"'{key}' has {types.Count} entries but 'block_out_channels' has {BlockOutChannels.Count}.");
        var unknown = types.FirstOrDefault(t => t != supported);
        if (unknown is not null)
            throw new ModelConfigException(source, $"'{key}' holds '{unknown}'; this AutoencoderKL implements only {supported}.");
    }
}
