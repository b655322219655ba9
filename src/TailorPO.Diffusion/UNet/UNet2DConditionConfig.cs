using System.Text.Json;
using System.Text.Json.Nodes;
using TailorPO.Core.Json;
using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// The knobs of diffusers' <c>UNet2DConditionModel</c> (<c>config.json</c>) that Stable Diffusion
/// v1.x / v2.x use, with diffusers 0.21's defaults. Per-block knobs accept one value for every
/// block or one per down block, as diffusers does. Note diffusers' naming quirk, which SD
/// checkpoints rely on: <see cref="AttentionHeadDim"/> is really the number of attention HEADS per
/// block (head size = channels / heads).
/// </summary>
public sealed record UNet2DConditionConfig
{
    /// <summary>The block types this implementation builds.</summary>
    public static readonly IReadOnlyList<string> SupportedDownBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"];

    /// <summary>The up block types this implementation builds.</summary>
    public static readonly IReadOnlyList<string> SupportedUpBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"];

    /// <summary>The mid block types this implementation builds.</summary>
    public static readonly IReadOnlyList<string> SupportedMidBlockTypes = ["UNetMidBlock2DCrossAttn"];

    /// <summary>Nominal latent size (informational; any size divisible by the downsampling works).</summary>
    public int? SampleSize { get; init; }

    /// <summary>Latent channels in (<c>in_channels</c>).</summary>
    public int InChannels { get; init; } = 4;

    /// <summary>Channels out (<c>out_channels</c>).</summary>
    public int OutChannels { get; init; } = 4;

    /// <summary>Map the input x to 2x - 1 first (<c>center_input_sample</c>).</summary>
    public bool CenterInputSample { get; init; }

    /// <summary>Put cosines first in the timestep embedding (<c>flip_sin_to_cos</c>).</summary>
    public bool FlipSinToCos { get; init; } = true;

    /// <summary>Frequency shift of the timestep embedding (<c>freq_shift</c>).</summary>
    public double FreqShift { get; init; }

    /// <summary>Down block types, one per resolution (<c>down_block_types</c>).</summary>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];

    /// <summary>Mid block type (<c>mid_block_type</c>).</summary>
    public string MidBlockType { get; init; } = "UNetMidBlock2DCrossAttn";

    /// <summary>Up block types, deepest first (<c>up_block_types</c>).</summary>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];

    /// <summary>Channels per resolution (<c>block_out_channels</c>).</summary>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [320, 640, 1280, 1280];

    /// <summary>Resnets per down block: one value, or one per block (<c>layers_per_block</c>).</summary>
    public IReadOnlyList<int> LayersPerBlock { get; init; } = [2];

    /// <summary>Padding of the down-sampling convolutions (<c>downsample_padding</c>).</summary>
    public int DownsamplePadding { get; init; } = 1;

    /// <summary>Output scale of the mid block's resnets (<c>mid_block_scale_factor</c>).</summary>
    public double MidBlockScaleFactor { get; init; } = 1.0;

    /// <summary>Dropout of resnets and attention (<c>dropout</c>).</summary>
    public double Dropout { get; init; }

    /// <summary>Activation (<c>act_fn</c>).</summary>
    public string ActFn { get; init; } = "silu";

    /// <summary>GroupNorm groups (<c>norm_num_groups</c>).</summary>
    public int NormNumGroups { get; init; } = 32;

    /// <summary>GroupNorm epsilon of the resnets and the output norm (<c>norm_eps</c>).</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>Text-embedding width: one value, or one per block (<c>cross_attention_dim</c>).</summary>
    public IReadOnlyList<int> CrossAttentionDim { get; init; } = [1280];

    /// <summary>Transformer blocks per attention: one value, or one per block (<c>transformer_layers_per_block</c>).</summary>
    public IReadOnlyList<int> TransformerLayersPerBlock { get; init; } = [1];

    /// <summary>
    /// Attention HEAD COUNT per block (diffusers' <c>attention_head_dim</c>, misnamed upstream): one value
    /// (SD v1.5: 8) or one per block (SD v2.x: [5, 10, 20, 20]).
    /// </summary>
    public IReadOnlyList<int> AttentionHeadDim { get; init; } = [8];

    /// <summary>Linear instead of 1x1-conv proj_in/proj_out in the transformers (<c>use_linear_projection</c>, SD v2.x).</summary>
    public bool UseLinearProjection { get; init; }

    /// <summary>Compute attention in float32 for half inputs (<c>upcast_attention</c>, SD v2.1).</summary>
    public bool UpcastAttention { get; init; }

    /// <summary>"default" or "scale_shift" (<c>resnet_time_scale_shift</c>).</summary>
    public string ResnetTimeScaleShift { get; init; } = "default";

    /// <summary>Skip the activation before the resnets' time projection (<c>resnet_skip_time_act</c>).</summary>
    public bool ResnetSkipTimeAct { get; init; }

    /// <summary>Output scale of the down/up blocks' resnets (<c>resnet_out_scale_factor</c>).</summary>
    public double ResnetOutScaleFactor { get; init; } = 1.0;

    /// <summary>Time-embedding width (<c>time_embedding_dim</c>; default 4 x the first block's channels).</summary>
    public int? TimeEmbeddingDim { get; init; }

    /// <summary>Activation applied once to the time embedding (<c>time_embedding_act_fn</c>).</summary>
    public string? TimeEmbeddingActFn { get; init; }

    /// <summary>Activation after the time MLP's second layer (<c>timestep_post_act</c>).</summary>
    public string? TimestepPostAct { get; init; }

    /// <summary>Kernel of conv_in (<c>conv_in_kernel</c>).</summary>
    public int ConvInKernel { get; init; } = 3;

    /// <summary>Kernel of conv_out (<c>conv_out_kernel</c>).</summary>
    public int ConvOutKernel { get; init; } = 3;

    /// <summary>Knobs of the file that were accepted without effect (null-valued knobs this library does not know).</summary>
    public IReadOnlyList<string> IgnoredKnobs { get; init; } = [];

    /// <summary>Number of resolutions (down blocks).</summary>
    public int BlockCount => BlockOutChannels.Count;

    /// <summary>The time-embedding width actually used.</summary>
    public int TimeEmbedDim => TimeEmbeddingDim ?? BlockOutChannels[0] * 4;

    /// <summary>A per-block knob for down block <paramref name="i"/> (broadcast when one value is given).</summary>
    public static int PerBlock(IReadOnlyList<int> values, int i) => values.Count == 1 ? values[0] : values[i];

    /// <summary>
    /// The range every integer knob must lie in (checked on read and by <see cref="Validate"/>, before
    /// anything is allocated). Per-block lists are checked entry by entry; at most
    /// <see cref="MaxBlocks"/> resolutions are accepted.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (long Min, long Max)> IntegerRanges = new Dictionary<string, (long, long)>(StringComparer.Ordinal)
    {
        ["sample_size"] = (1, 16_384),
        ["in_channels"] = (1, 1_024),
        ["out_channels"] = (1, 1_024),
        ["block_out_channels"] = (1, 65_536),
        ["layers_per_block"] = (1, 64),
        ["downsample_padding"] = (0, 64),
        ["norm_num_groups"] = (1, 65_536),
        ["cross_attention_dim"] = (1, 65_536),
        ["transformer_layers_per_block"] = (1, 64),
        ["attention_head_dim"] = (1, 4_096),
        ["time_embedding_dim"] = (1, 262_144),
        ["conv_in_kernel"] = (1, 31),
        ["conv_out_kernel"] = (1, 31),
    };

    /// <summary>The most resolutions (entries of <c>block_out_channels</c>) accepted.</summary>
    public const int MaxBlocks = 8;

    // Knobs whose only supported value is "absent/neutral": name -> the accepted JSON values.
    private static readonly Dictionary<string, Func<JsonNode?, bool>> NeutralOnly = new(StringComparer.Ordinal)
    {
        ["class_embed_type"] = IsNull,
        ["addition_embed_type"] = IsNull,
        ["addition_time_embed_dim"] = IsNull,
        ["num_class_embeds"] = IsNull,
        ["encoder_hid_dim"] = IsNull,
        ["encoder_hid_dim_type"] = IsNull,
        ["time_cond_proj_dim"] = IsNull,
        ["projection_class_embeddings_input_dim"] = IsNull,
        ["cross_attention_norm"] = IsNull,
        ["num_attention_heads"] = IsNull,
        ["reverse_transformer_layers_per_block"] = IsNull,
        ["class_embeddings_concat"] = IsFalse,
        ["dual_cross_attention"] = IsFalse,
        ["only_cross_attention"] = n => IsFalse(n) || (n is JsonArray a && a.All(IsFalse)),
        ["mid_block_only_cross_attention"] = n => IsNull(n) || IsFalse(n),
        ["time_embedding_type"] = n => n is JsonValue v && v.TryGetValue<string>(out var s) && s == "positional",
        ["attention_type"] = n => n is JsonValue v && v.TryGetValue<string>(out var s) && s == "default",
        // Only used by addition embeddings, which are not supported; any value is harmless.
        ["addition_embed_type_num_heads"] = _ => true,
    };

    private static bool IsNull(JsonNode? n) => n is null;
    private static bool IsFalse(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) && !b;

    /// <summary>Reads a diffusers <c>config.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The JSON is malformed, gives a key twice, is out of range or asks for something unsupported.</exception>
    public static UNet2DConditionConfig FromFile(string path, ModelSizeLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"UNet config '{full}' does not exist.", full);
        if (!StrictJson.TryParseFile(full, default, out var document, out var problem))
            throw new ModelConfigException(full, problem);
        using (document) return FromElement(document.RootElement, full, limits);
    }

    /// <summary>Parses diffusers config JSON text.</summary>
    /// <param name="json">The JSON object.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">The JSON is malformed, gives a key twice, is out of range or asks for something unsupported.</exception>
    public static UNet2DConditionConfig FromJson(string json, string source = "in-memory config", ModelSizeLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!StrictJson.TryParse(json, default, out var document, out var problem))
            throw new ModelConfigException(source, problem);
        using (document) return FromElement(document.RootElement, source, limits);
    }

    private static UNet2DConditionConfig FromElement(JsonElement element, string source, ModelSizeLimits? limits)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new ModelConfigException(source, [$"the file is a JSON {element.ValueKind}, not a JSON object"]);
        var root = JsonObject.Create(element)!;

        var problems = new List<string>();
        var ignored = new List<string>();
        var config = new UNet2DConditionConfig();
        var reader = new KnobReader(problems);

        if (root["_class_name"] is JsonValue classNode && classNode.TryGetValue<string>(out var className) && className != "UNet2DConditionModel")
            problems.Add($"_class_name '{className}' is not a UNet2DConditionModel (the only UNet this library builds; " +
                (className == "UNet2DModel" ? "UNet2DModel has no text conditioning)" : "see ModelIndex.SupportedClasses)"));
        foreach (var (name, node) in root)
        {
            if (name.StartsWith('_')) continue; // _class_name, _diffusers_version, _name_or_path
            switch (name)
            {
                case "sample_size": config = config with { SampleSize = reader.OptionalInt(name, node) }; break;
                case "in_channels": config = config with { InChannels = reader.Int(name, node, config.InChannels) }; break;
                case "out_channels": config = config with { OutChannels = reader.Int(name, node, config.OutChannels) }; break;
                case "center_input_sample": config = config with { CenterInputSample = reader.Bool(name, node, config.CenterInputSample) }; break;
                case "flip_sin_to_cos": config = config with { FlipSinToCos = reader.Bool(name, node, config.FlipSinToCos) }; break;
                case "freq_shift": config = config with { FreqShift = reader.Double(name, node, config.FreqShift) }; break;
                case "down_block_types": config = config with { DownBlockTypes = reader.Strings(name, node, config.DownBlockTypes) }; break;
                case "mid_block_type": config = config with { MidBlockType = reader.String(name, node, config.MidBlockType) ?? "" }; break;
                case "up_block_types": config = config with { UpBlockTypes = reader.Strings(name, node, config.UpBlockTypes) }; break;
                case "block_out_channels": config = config with { BlockOutChannels = reader.Ints(name, node, config.BlockOutChannels) }; break;
                case "layers_per_block": config = config with { LayersPerBlock = reader.Ints(name, node, config.LayersPerBlock) }; break;
                case "downsample_padding": config = config with { DownsamplePadding = reader.Int(name, node, config.DownsamplePadding) }; break;
                case "mid_block_scale_factor": config = config with { MidBlockScaleFactor = reader.Double(name, node, config.MidBlockScaleFactor) }; break;
                case "dropout": config = config with { Dropout = reader.Double(name, node, config.Dropout) }; break;
                case "act_fn": config = config with { ActFn = reader.String(name, node, config.ActFn) ?? "" }; break;
                case "norm_num_groups":
                    if (node is null) problems.Add("norm_num_groups = null (no output GroupNorm) is not supported");
                    else config = config with { NormNumGroups = reader.Int(name, node, config.NormNumGroups) };
                    break;
                case "norm_eps": config = config with { NormEps = reader.Double(name, node, config.NormEps) }; break;
                case "cross_attention_dim": config = config with { CrossAttentionDim = reader.Ints(name, node, config.CrossAttentionDim) }; break;
                case "transformer_layers_per_block": config = config with { TransformerLayersPerBlock = reader.Ints(name, node, config.TransformerLayersPerBlock) }; break;
                case "attention_head_dim": config = config with { AttentionHeadDim = reader.Ints(name, node, config.AttentionHeadDim) }; break;
                case "use_linear_projection": config = config with { UseLinearProjection = reader.Bool(name, node, config.UseLinearProjection) }; break;
                case "upcast_attention": config = config with { UpcastAttention = reader.Bool(name, node, config.UpcastAttention) }; break;
                case "resnet_time_scale_shift": config = config with { ResnetTimeScaleShift = reader.String(name, node, config.ResnetTimeScaleShift) ?? "default" }; break;
                case "resnet_skip_time_act": config = config with { ResnetSkipTimeAct = reader.Bool(name, node, config.ResnetSkipTimeAct) }; break;
                case "resnet_out_scale_factor": config = config with { ResnetOutScaleFactor = reader.Double(name, node, config.ResnetOutScaleFactor) }; break;
                case "time_embedding_dim": config = config with { TimeEmbeddingDim = reader.OptionalInt(name, node) }; break;
                case "time_embedding_act_fn": config = config with { TimeEmbeddingActFn = reader.String(name, node, null) }; break;
                case "timestep_post_act": config = config with { TimestepPostAct = reader.String(name, node, null) }; break;
                case "conv_in_kernel": config = config with { ConvInKernel = reader.Int(name, node, config.ConvInKernel) }; break;
                case "conv_out_kernel": config = config with { ConvOutKernel = reader.Int(name, node, config.ConvOutKernel) }; break;
                default:
                    if (NeutralOnly.TryGetValue(name, out var accepts))
                    {
                        if (!accepts(node)) problems.Add($"{name} = {Show(node)} is not supported (only its neutral value is)");
                    }
                    else if (node is null)
                    {
                        ignored.Add(name);
                    }
                    else
                    {
                        problems.Add($"unknown knob {name} = {Show(node)}");
                    }
                    break;
            }
        }

        config = config with { IgnoredKnobs = ignored };
        problems.AddRange(config.Problems(limits ?? ModelSizeLimits.Default));
        if (problems.Count > 0) throw new ModelConfigException(source, problems);
        return config;
    }

    /// <summary>
    /// Checks the knobs against their ranges (<see cref="IntegerRanges"/>), each other and what is
    /// implemented, then the parameter count they describe against <paramref name="limits"/>.
    /// </summary>
    /// <param name="source">The config's file, for the message.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">Every problem found, in one message.</exception>
    public void Validate(string source = "in-memory config", ModelSizeLimits? limits = null)
    {
        var problems = Problems(limits ?? ModelSizeLimits.Default);
        if (problems.Count > 0) throw new ModelConfigException(source, problems);
    }

    /// <summary>The exact number of parameters the model built from this (valid) config has.</summary>
    internal Int128 CountParameters()
    {
        int n = BlockCount;
        Int128 temb = TimeEmbedDim, c0 = BlockOutChannels[0];
        bool scaleShift = ResnetTimeScaleShift == "scale_shift";
        Int128 Resnet(Int128 input, Int128 output) => ParameterMath.Resnet(input, output, temb, scaleShift);
        Int128 Transformer(Int128 channels, int block)
        {
            Int128 cross = PerBlock(CrossAttentionDim, block), d = channels;
            Int128 blockParameters = 3 * ParameterMath.Norm(d)
                + 3 * ParameterMath.Linear(d, d, false) + ParameterMath.Linear(d, d)          // attn1
                + ParameterMath.Linear(d, d, false) + 2 * ParameterMath.Linear(cross, d, false) + ParameterMath.Linear(d, d) // attn2
                + ParameterMath.Linear(d, 8 * d) + ParameterMath.Linear(4 * d, d);            // ff (GEGLU + out)
            return ParameterMath.Norm(channels) + 2 * ParameterMath.Linear(channels, channels)
                + PerBlock(TransformerLayersPerBlock, block) * blockParameters;
        }

        Int128 total = ParameterMath.Conv(InChannels, c0, ConvInKernel)
            + ParameterMath.Linear(c0, temb) + ParameterMath.Linear(temb, temb);
        Int128 output = c0;
        for (int i = 0; i < n; i++)
        {
            Int128 input = output;
            output = BlockOutChannels[i];
            int layers = PerBlock(LayersPerBlock, i);
            for (int j = 0; j < layers; j++)
            {
                total += Resnet(j == 0 ? input : output, output);
                if (DownBlockTypes[i] == "CrossAttnDownBlock2D") total += Transformer(output, i);
            }
            if (i < n - 1) total += ParameterMath.Conv(output, output, 3);
        }
        Int128 deepest = BlockOutChannels[n - 1];
        total += 2 * Resnet(deepest, deepest) + Transformer(deepest, n - 1);
        output = deepest;
        for (int i = 0; i < n; i++)
        {
            int reversed = n - 1 - i;
            Int128 previous = output;
            output = BlockOutChannels[reversed];
            Int128 input = BlockOutChannels[Math.Max(reversed - 1, 0)];
            int layers = PerBlock(LayersPerBlock, reversed) + 1;
            for (int j = 0; j < layers; j++)
            {
                total += Resnet((j == 0 ? previous : output) + (j == layers - 1 ? input : output), output);
                if (UpBlockTypes[i] == "CrossAttnUpBlock2D") total += Transformer(output, reversed);
            }
            if (i < n - 1) total += ParameterMath.Conv(output, output, 3);
        }
        return total + ParameterMath.Norm(c0) + ParameterMath.Conv(c0, OutChannels, ConvOutKernel);
    }

    private List<string> Problems(ModelSizeLimits limits)
    {
        var problems = new List<string>();
        int n = BlockOutChannels.Count;
        if (n == 0) problems.Add("block_out_channels is empty");
        if (n > MaxBlocks) problems.Add(ModelSizeLimits.OutOfRange("block_out_channels", $"a list of {n} entries", 1, MaxBlocks) + " entries");
        CheckRange(problems, "sample_size", SampleSize is { } size ? [size] : []);
        CheckRange(problems, "in_channels", [InChannels]);
        CheckRange(problems, "out_channels", [OutChannels]);
        CheckRange(problems, "block_out_channels", BlockOutChannels);
        CheckRange(problems, "layers_per_block", LayersPerBlock);
        CheckRange(problems, "downsample_padding", [DownsamplePadding]);
        CheckRange(problems, "norm_num_groups", [NormNumGroups]);
        CheckRange(problems, "cross_attention_dim", CrossAttentionDim);
        CheckRange(problems, "transformer_layers_per_block", TransformerLayersPerBlock);
        CheckRange(problems, "attention_head_dim", AttentionHeadDim);
        CheckRange(problems, "time_embedding_dim", TimeEmbeddingDim is { } dim ? [dim] : []);
        CheckRange(problems, "conv_in_kernel", [ConvInKernel]);
        CheckRange(problems, "conv_out_kernel", [ConvOutKernel]);
        if (problems.Count > 0) return problems;
        if (BlockOutChannels.Any(c => c <= 0)) problems.Add($"block_out_channels [{string.Join(", ", BlockOutChannels)}] must be positive");
        if (DownBlockTypes.Count != n) problems.Add($"down_block_types has {DownBlockTypes.Count} entries but block_out_channels has {n}");
        if (UpBlockTypes.Count != DownBlockTypes.Count) problems.Add($"up_block_types has {UpBlockTypes.Count} entries but down_block_types has {DownBlockTypes.Count}");
        foreach (var t in DownBlockTypes.Where(t => !SupportedDownBlockTypes.Contains(t)).Distinct())
            problems.Add($"down_block_types entry '{t}' is not supported (supported: {string.Join(", ", SupportedDownBlockTypes)})");
        foreach (var t in UpBlockTypes.Where(t => !SupportedUpBlockTypes.Contains(t)).Distinct())
            problems.Add($"up_block_types entry '{t}' is not supported (supported: {string.Join(", ", SupportedUpBlockTypes)})");
        if (!SupportedMidBlockTypes.Contains(MidBlockType))
            problems.Add($"mid_block_type '{MidBlockType}' is not supported (supported: {string.Join(", ", SupportedMidBlockTypes)})");
        CheckPerBlock(problems, "layers_per_block", LayersPerBlock, n, 1);
        CheckPerBlock(problems, "cross_attention_dim", CrossAttentionDim, n, 1);
        CheckPerBlock(problems, "transformer_layers_per_block", TransformerLayersPerBlock, n, 1);
        CheckPerBlock(problems, "attention_head_dim", AttentionHeadDim, n, 1);
        if (InChannels <= 0) problems.Add($"in_channels = {InChannels} must be positive");
        if (OutChannels <= 0) problems.Add($"out_channels = {OutChannels} must be positive");
        if (NormNumGroups <= 0) problems.Add($"norm_num_groups = {NormNumGroups} must be positive");
        else
            foreach (var c in BlockOutChannels.Where(c => c > 0 && c % NormNumGroups != 0).Distinct())
                problems.Add($"block_out_channels entry {c} is not divisible by norm_num_groups {NormNumGroups}");
        if (!(NormEps > 0)) problems.Add($"norm_eps = {NormEps} must be positive");
        if (DownsamplePadding < 0) problems.Add($"downsample_padding = {DownsamplePadding} must be 0 or more");
        if (Dropout is < 0 or >= 1) problems.Add($"dropout = {Dropout} must be in [0, 1)");
        if (!Activation.IsKnown(ActFn)) problems.Add($"act_fn '{ActFn}' is not supported (supported: {string.Join(", ", Activation.Names)})");
        if (TimeEmbeddingActFn is not null && !Activation.IsKnown(TimeEmbeddingActFn))
            problems.Add($"time_embedding_act_fn '{TimeEmbeddingActFn}' is not supported (supported: {string.Join(", ", Activation.Names)})");
        if (TimestepPostAct is not null && !Activation.IsKnown(TimestepPostAct))
            problems.Add($"timestep_post_act '{TimestepPostAct}' is not supported (supported: {string.Join(", ", Activation.Names)})");
        if (ResnetTimeScaleShift is not ("default" or "scale_shift"))
            problems.Add($"resnet_time_scale_shift '{ResnetTimeScaleShift}' is not supported (supported: default, scale_shift)");
        if (ConvInKernel <= 0 || ConvInKernel % 2 == 0) problems.Add($"conv_in_kernel = {ConvInKernel} must be a positive odd number");
        if (ConvOutKernel <= 0 || ConvOutKernel % 2 == 0) problems.Add($"conv_out_kernel = {ConvOutKernel} must be a positive odd number");
        if (TimeEmbeddingDim is <= 0) problems.Add($"time_embedding_dim = {TimeEmbeddingDim} must be positive");
        if (MidBlockScaleFactor == 0 || ResnetOutScaleFactor == 0) problems.Add("mid_block_scale_factor and resnet_out_scale_factor must be non-zero");

        if (problems.Count == 0)
        {
            // Every attention block's channels must split evenly into its heads.
            for (int i = 0; i < n; i++)
            {
                int heads = PerBlock(AttentionHeadDim, i);
                if (DownBlockTypes[i] == "CrossAttnDownBlock2D" && BlockOutChannels[i] % heads != 0)
                    problems.Add($"down block {i}: {BlockOutChannels[i]} channels do not split into attention_head_dim = {heads} heads");
                int upChannels = BlockOutChannels[n - 1 - i], upHeads = PerBlock(AttentionHeadDim, n - 1 - i);
                if (UpBlockTypes[i] == "CrossAttnUpBlock2D" && upChannels % upHeads != 0)
                    problems.Add($"up block {i}: {upChannels} channels do not split into attention_head_dim = {upHeads} heads");
            }
            if (BlockOutChannels[^1] % PerBlock(AttentionHeadDim, n - 1) != 0)
                problems.Add($"mid block: {BlockOutChannels[^1]} channels do not split into {PerBlock(AttentionHeadDim, n - 1)} heads");
        }
        if (problems.Count == 0)
        {
            var tooBig = limits.ParameterProblem(CountParameters(), "UNet",
                $"block_out_channels [{string.Join(", ", BlockOutChannels)}], layers_per_block [{string.Join(", ", LayersPerBlock)}], " +
                $"transformer_layers_per_block [{string.Join(", ", TransformerLayersPerBlock)}] and cross_attention_dim [{string.Join(", ", CrossAttentionDim)}]");
            if (tooBig is not null) problems.Add(tooBig);
        }
        return problems;
    }

    private static void CheckRange(List<string> problems, string key, IReadOnlyList<int> values)
    {
        var (min, max) = IntegerRanges[key];
        var bad = values.Where(v => v < min || v > max).Distinct().ToList();
        if (bad.Count > 0) problems.Add(ModelSizeLimits.OutOfRange(key, string.Join(", ", bad), min, max));
    }

    private static void CheckPerBlock(List<string> problems, string name, IReadOnlyList<int> values, int blocks, int minimum)
    {
        if (values.Count != 1 && values.Count != blocks)
            problems.Add($"{name} has {values.Count} entries; give one value or one per block ({blocks})");
        if (values.Any(v => v < minimum))
            problems.Add($"{name} [{string.Join(", ", values)}] must be at least {minimum}");
    }

    /// <summary>Value equality over every knob (the lists compared element-wise).</summary>
    public bool Equals(UNet2DConditionConfig? other) =>
        other is not null && ToJson() == other.ToJson() && IgnoredKnobs.SequenceEqual(other.IgnoredKnobs);

    /// <inheritdoc />
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);

    /// <summary>Writes the config as diffusers <c>config.json</c> text (diffusers 0.21 knob names).</summary>
    public string ToJson()
    {
        static JsonNode PerBlockNode(IReadOnlyList<int> v) => v.Count == 1 ? JsonValue.Create(v[0]) : new JsonArray(v.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());
        var o = new JsonObject
        {
            ["_class_name"] = "UNet2DConditionModel",
            ["_diffusers_version"] = "0.21.4",
            ["act_fn"] = ActFn,
            ["attention_head_dim"] = PerBlockNode(AttentionHeadDim),
            ["block_out_channels"] = new JsonArray(BlockOutChannels.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
            ["center_input_sample"] = CenterInputSample,
            ["conv_in_kernel"] = ConvInKernel,
            ["conv_out_kernel"] = ConvOutKernel,
            ["cross_attention_dim"] = PerBlockNode(CrossAttentionDim),
            ["down_block_types"] = new JsonArray(DownBlockTypes.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
            ["downsample_padding"] = DownsamplePadding,
            ["dropout"] = Dropout,
            ["flip_sin_to_cos"] = FlipSinToCos,
            ["freq_shift"] = FreqShift,
            ["in_channels"] = InChannels,
            ["layers_per_block"] = PerBlockNode(LayersPerBlock),
            ["mid_block_scale_factor"] = MidBlockScaleFactor,
            ["mid_block_type"] = MidBlockType,
            ["norm_eps"] = NormEps,
            ["norm_num_groups"] = NormNumGroups,
            ["out_channels"] = OutChannels,
            ["resnet_out_scale_factor"] = ResnetOutScaleFactor,
            ["resnet_skip_time_act"] = ResnetSkipTimeAct,
            ["resnet_time_scale_shift"] = ResnetTimeScaleShift,
            ["sample_size"] = SampleSize,
            ["time_embedding_act_fn"] = TimeEmbeddingActFn,
            ["time_embedding_dim"] = TimeEmbeddingDim,
            ["time_embedding_type"] = "positional",
            ["timestep_post_act"] = TimestepPostAct,
            ["transformer_layers_per_block"] = PerBlockNode(TransformerLayersPerBlock),
            ["up_block_types"] = new JsonArray(UpBlockTypes.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
            ["upcast_attention"] = UpcastAttention,
            ["use_linear_projection"] = UseLinearProjection,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string Show(JsonNode? node) => node?.ToJsonString() ?? "null";

    /// <summary>Typed reads of JSON knobs that record a problem instead of throwing on the first one.</summary>
    private sealed class KnobReader(List<string> problems)
    {
        public int Int(string name, JsonNode? node, int fallback)
        {
            if (node is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) && d == Math.Floor(d))
            {
                var (min, max) = IntegerRanges.TryGetValue(name, out var range) ? range : (int.MinValue, int.MaxValue);
                if (d >= min && d <= max) return (int)d;
                problems.Add(ModelSizeLimits.OutOfRange(name, Show(node), min, max));
                return fallback;
            }
            problems.Add($"{name} = {Show(node)} must be an integer");
            return fallback;
        }

        public int? OptionalInt(string name, JsonNode? node) => node is null ? null : Int(name, node, 0);

        public double Double(string name, JsonNode? node, double fallback)
        {
            if (node is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d)) return d;
            problems.Add($"{name} = {Show(node)} must be a number");
            return fallback;
        }

        public bool Bool(string name, JsonNode? node, bool fallback)
        {
            if (node is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
            problems.Add($"{name} = {Show(node)} must be true or false");
            return fallback;
        }

        public string? String(string name, JsonNode? node, string? fallback)
        {
            if (node is null) return null;
            if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
            problems.Add($"{name} = {Show(node)} must be a string");
            return fallback;
        }

        public IReadOnlyList<string> Strings(string name, JsonNode? node, IReadOnlyList<string> fallback)
        {
            if (node is JsonArray a && a.All(x => x is JsonValue v && v.TryGetValue<string>(out _)))
                return a.Select(x => x!.GetValue<string>()).ToList();
            problems.Add($"{name} = {Show(node)} must be a list of strings");
            return fallback;
        }

        public IReadOnlyList<int> Ints(string name, JsonNode? node, IReadOnlyList<int> fallback)
        {
            if (node is JsonValue) return [Int(name, node, fallback[0])];
            if (node is JsonArray a && a.Count > 0)
                return a.Select(x => Int(name, x, 0)).ToList();
            problems.Add($"{name} = {Show(node)} must be an integer or a non-empty list of integers");
            return fallback;
        }
    }
}
