using System.Globalization;
using System.Text.RegularExpressions;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Single-file Stable Diffusion v1.x checkpoints in the original LDM (CompVis) layout - one
/// <c>.safetensors</c> file holding the UNet under <c>model.diffusion_model.*</c>, the VAE under
/// <c>first_stage_model.*</c> and the CLIP text encoder under <c>cond_stage_model.transformer.*</c> - read
/// into this library's diffusers-layout models. A single file carries no configs: they come from the
/// caller (or from a config folder, see <see cref="LoadPipeline"/>). The key mapping (the same facts as
/// diffusers' <c>convert_original_stable_diffusion_to_diffusers.py</c>) is given by <see cref="UNetKey"/>,
/// <see cref="VaeKey"/> and <see cref="TextEncoderKey"/> and documented in <c>docs/models-and-checkpoints.md</c>.
/// The non-EMA weights are read (<c>model_ema.*</c> and the schedule buffers at the top level are ignored),
/// tensors are streamed one at a time, and every missing, unexpected or mis-shaped key is listed in one
/// <see cref="StateDictMismatchException"/> under both names.
/// </summary>
public static partial class SingleFileCheckpoint
{
    /// <summary>Prefix of the UNet's keys.</summary>
    public const string UNetPrefix = "model.diffusion_model.";

    /// <summary>Prefix of the VAE's keys.</summary>
    public const string VaePrefix = "first_stage_model.";

    /// <summary>Prefix of the CLIP text encoder's keys (SD v1.x: transformers' CLIPTextModel inside).</summary>
    public const string TextEncoderPrefix = "cond_stage_model.transformer.";

    /// <summary>SD v2.x's OpenCLIP text encoder prefix, which this reader does not convert.</summary>
    public const string OpenClipPrefix = "cond_stage_model.model.";

    [GeneratedRegex(@"^(down|up)_blocks\.(\d+)\.(resnets|attentions|downsamplers|upsamplers)\.(\d+)\.(.+)$")]
    private static partial Regex UNetBlockKey();

    [GeneratedRegex(@"^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$")]
    private static partial Regex UNetMidKey();

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)_blocks\.(\d+)\.(resnets|downsamplers|upsamplers)\.(\d+)\.(.+)$")]
    private static partial Regex VaeBlockKey();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.(resnets|attentions)\.(\d+)\.(.+)$")]
    private static partial Regex VaeMidKey();

    private static readonly (string Diffusers, string Ldm)[] UNetResnetNames =
    [
        ("norm1.", "in_layers.0."), ("conv1.", "in_layers.2."), ("time_emb_proj.", "emb_layers.1."),
        ("norm2.", "out_layers.0."), ("conv2.", "out_layers.3."), ("conv_shortcut.", "skip_connection."),
    ];

    private static readonly (string Diffusers, string Ldm)[] VaeAttentionNames =
    [
        ("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."), ("to_out.0.", "proj_out."),
    ];

    private static string Rename(string rest, (string Diffusers, string Ldm)[] names)
    {
        foreach (var (diffusers, ldm) in names)
            if (rest.StartsWith(diffusers, StringComparison.Ordinal)) return ldm + rest[diffusers.Length..];
        return rest;
    }

    private static int UniformLayers(UNet2DConditionConfig config)
    {
        var layers = config.LayersPerBlock.Distinct().ToList();
        if (layers.Count != 1)
            throw new ModelConfigException("UNet config", $"layers_per_block [{string.Join(", ", config.LayersPerBlock)}] differs per block; the LDM layout numbers its blocks with one num_res_blocks.");
        return layers[0];
    }

    /// <summary>
    /// The LDM name (without <see cref="UNetPrefix"/>) of a diffusers UNet key. With L = layers_per_block:
    /// <c>conv_in</c> = <c>input_blocks.0.0</c>; <c>time_embedding.linear_1/2</c> = <c>time_embed.0/2</c>;
    /// <c>down_blocks.b.resnets.j</c> = <c>input_blocks.(1 + b(L+1) + j).0</c>, its <c>attentions.j</c> =
    /// <c>input_blocks.(1 + b(L+1) + j).1</c>, its <c>downsamplers.0.conv</c> = <c>input_blocks.(1 + b(L+1) + L).0.op</c>;
    /// <c>mid_block.resnets.0/1</c> = <c>middle_block.0/2</c>, <c>mid_block.attentions.0</c> = <c>middle_block.1</c>;
    /// <c>up_blocks.b.resnets.j</c> = <c>output_blocks.(b(L+1) + j).0</c>, its <c>attentions.j</c> =
    /// <c>output_blocks.(b(L+1) + j).1</c>, its <c>upsamplers.0.conv</c> = <c>output_blocks.(b(L+1) + L).1.conv</c>, or
    /// <c>.2.conv</c> when the block has attention; <c>conv_norm_out</c>/<c>conv_out</c> = <c>out.0</c>/<c>out.2</c>.
    /// Inside resnets <c>norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut</c> are <c>in_layers.0,
    /// in_layers.2, emb_layers.1, out_layers.0, out_layers.3, skip_connection</c>; transformer blocks keep their names.
    /// </summary>
    /// <exception cref="ModelConfigException">layers_per_block differs per block.</exception>
    /// <exception cref="ArgumentException">The key is not a UNet2DConditionModel key.</exception>
    public static string UNetKey(string key, UNet2DConditionConfig config)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(config);
        int step = UniformLayers(config) + 1;
        string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
        foreach (var (diffusers, ldm) in new[]
        {
            ("conv_in.", "input_blocks.0.0."), ("time_embedding.linear_1.", "time_embed.0."), ("time_embedding.linear_2.", "time_embed.2."),
            ("conv_norm_out.", "out.0."), ("conv_out.", "out.2."),
        })
        {
            if (key.StartsWith(diffusers, StringComparison.Ordinal)) return ldm + key[diffusers.Length..];
        }
        var block = UNetBlockKey().Match(key);
        if (block.Success)
        {
            bool down = block.Groups[1].Value == "down";
            int b = int.Parse(block.Groups[2].Value, CultureInfo.InvariantCulture), j = int.Parse(block.Groups[4].Value, CultureInfo.InvariantCulture);
            var rest = block.Groups[5].Value;
            int first = down ? 1 + b * step : b * step;
            return (down ? "input_blocks." : "output_blocks.") + block.Groups[3].Value switch
            {
                "resnets" => $"{Number(first + j)}.0.{Rename(rest, UNetResnetNames)}",
                "attentions" => $"{Number(first + j)}.1.{rest}",
                "downsamplers" => $"{Number(first + step - 1)}.0.op.{StripConv(key, rest)}",
                _ => $"{Number(first + step - 1)}.{(config.UpBlockTypes[b] == "CrossAttnUpBlock2D" ? 2 : 1)}.conv.{StripConv(key, rest)}",
            };
        }
        var mid = UNetMidKey().Match(key);
        if (mid.Success)
        {
            int j = int.Parse(mid.Groups[2].Value, CultureInfo.InvariantCulture);
            return mid.Groups[1].Value == "resnets"
                ? $"middle_block.{Number(2 * j)}.{Rename(mid.Groups[3].Value, UNetResnetNames)}"
                : $"middle_block.{Number(1 + 2 * j)}.{mid.Groups[3].Value}";
        }
        throw new ArgumentException($"'{key}' is not a key of UNet2DConditionModel.", nameof(key));
    }

    private static string StripConv(string key, string rest) =>
        rest.StartsWith("conv.", StringComparison.Ordinal) ? rest["conv.".Length..] : throw new ArgumentException($"'{key}' is not a key of UNet2DConditionModel.", nameof(key));

    /// <summary>
    /// The LDM name (without <see cref="VaePrefix"/>) of a diffusers VAE key. With n = the number of blocks:
    /// <c>encoder.down_blocks.i.resnets.j</c> = <c>encoder.down.i.block.j</c>, <c>.downsamplers.0.conv</c> =
    /// <c>encoder.down.i.downsample.conv</c>; <c>decoder.up_blocks.i.resnets.j</c> = <c>decoder.up.(n-1-i).block.j</c>
    /// (the decoder's LDM blocks count from the image side), <c>.upsamplers.0.conv</c> = <c>decoder.up.(n-1-i).upsample.conv</c>;
    /// <c>mid_block.resnets.0/1</c> = <c>mid.block_1/2</c>; <c>mid_block.attentions.0.group_norm/to_q/to_k/to_v/to_out.0</c> =
    /// <c>mid.attn_1.norm/q/k/v/proj_out</c> (stored as 1x1 convolutions: [C, C, 1, 1] is read as [C, C]);
    /// <c>conv_norm_out</c> = <c>norm_out</c>; in resnets <c>conv_shortcut</c> = <c>nin_shortcut</c>; everything else keeps its name.
    /// </summary>
    /// <exception cref="ArgumentException">The key is not an AutoencoderKL key.</exception>
    public static string VaeKey(string key, AutoencoderKLConfig config)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(config);
        int n = config.BlockOutChannels.Count;
        foreach (var part in new[] { "encoder", "decoder" })
        {
            if (key.StartsWith($"{part}.conv_norm_out.", StringComparison.Ordinal))
                return $"{part}.norm_out.{key[$"{part}.conv_norm_out.".Length..]}";
        }
        var block = VaeBlockKey().Match(key);
        if (block.Success)
        {
            var part = block.Groups[1].Value;
            int i = int.Parse(block.Groups[3].Value, CultureInfo.InvariantCulture);
            var rest = block.Groups[6].Value;
            var ldmBlock = part == "decoder" ? $"up.{n - 1 - i}" : $"down.{i}";
            return block.Groups[4].Value switch
            {
                "resnets" => $"{part}.{ldmBlock}.block.{block.Groups[5].Value}.{Rename(rest, [("conv_shortcut.", "nin_shortcut.")])}",
                "downsamplers" => $"{part}.{ldmBlock}.downsample.{rest}",
                _ => $"{part}.{ldmBlock}.upsample.{rest}",
            };
        }
        var mid = VaeMidKey().Match(key);
        if (mid.Success)
        {
            int j = int.Parse(mid.Groups[3].Value, CultureInfo.InvariantCulture);
            return mid.Groups[2].Value == "resnets"
                ? $"{mid.Groups[1].Value}.mid.block_{j + 1}.{Rename(mid.Groups[4].Value, [("conv_shortcut.", "nin_shortcut.")])}"
                : $"{mid.Groups[1].Value}.mid.attn_{j + 1}.{Rename(mid.Groups[4].Value, VaeAttentionNames)}";
        }
        return key;
    }

    /// <summary>
    /// The name (without <see cref="TextEncoderPrefix"/>) of a transformers CLIPTextModel key: the same key,
    /// or without its leading <c>text_model.</c> in checkpoints saved by transformers before 4.x' CLIPTextModel wrapper
    /// (<paramref name="withTextModelPrefix"/> false).
    /// </summary>
    public static string TextEncoderKey(string key, bool withTextModelPrefix)
    {
        ArgumentNullException.ThrowIfNull(key);
        return withTextModelPrefix || !key.StartsWith("text_model.", StringComparison.Ordinal) ? key : key["text_model.".Length..];
    }

    /// <summary>Reads the UNet of a single-file checkpoint.</summary>
    /// <param name="checkpoint">The .safetensors file (pickle only through <see cref="ModelLoadOptions.ReadOptions"/>).</param>
    /// <param name="config">The UNet config (e.g. SD v1.5's <c>unet/config.json</c>).</param>
    /// <param name="options">dtype, device, pickle opt-in and size limits (the variant does not apply).</param>
    /// <exception cref="StateDictMismatchException">Keys missing, unexpected or mis-shaped (both names given).</exception>
    /// <exception cref="ModelConfigException">The config is unusable or too big, or the file holds no UNet.</exception>
    public static UNet2DConditionModel LoadUNet(string checkpoint, UNet2DConditionConfig config, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options = Checked(options);
        UniformLayers(config);
        using var file = TensorSource.Open(checkpoint, options.ReadOptions);
        return Load(file, ModelLoader.BuildForLoading(() => new UNet2DConditionModel(config, options.Limits), options), UNetPrefix, k => UNetKey(k, config), options);
    }

    /// <summary>Reads the VAE of a single-file checkpoint.</summary>
    /// <inheritdoc cref="LoadUNet"/>
    public static AutoencoderKL LoadVae(string checkpoint, AutoencoderKLConfig config, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options = Checked(options);
        using var file = TensorSource.Open(checkpoint, options.ReadOptions);
        return Load(file, ModelLoader.BuildForLoading(() => new AutoencoderKL(config, options.Limits), options), VaePrefix, k => VaeKey(k, config), options);
    }

    /// <summary>Reads the CLIP text encoder of a single-file SD v1.x checkpoint.</summary>
    /// <inheritdoc cref="LoadUNet"/>
    public static CLIPTextModel LoadTextEncoder(string checkpoint, CLIPTextConfig config, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options = Checked(options);
        using var file = TensorSource.Open(checkpoint, options.ReadOptions);
        return LoadTextEncoder(file, config, options);
    }

    /// <summary>
    /// Assembles a pipeline from a single-file checkpoint and a config folder laid out as a diffusers
    /// folder without weights (<c>model_index.json</c>, <c>unet/config.json</c>, <c>vae/config.json</c>,
    /// <c>text_encoder/config.json</c>, <c>tokenizer/</c>, <c>scheduler/scheduler_config.json</c>; e.g. SD v1.5's
    /// folder with its weight files left out). The checkpoint is opened once.
    /// </summary>
    /// <param name="checkpoint">The single .safetensors file.</param>
    /// <param name="configFolder">The folder of configs, tokenizer and scheduler.</param>
    /// <param name="options">dtypes, device, pickle opt-in and limits, as for <see cref="StableDiffusionPipeline.FromPretrained"/>.</param>
    public static StableDiffusionPipeline LoadPipeline(string checkpoint, string configFolder, StableDiffusionLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configFolder);
        options ??= new StableDiffusionLoadOptions();
        var root = Path.GetFullPath(configFolder);
        ModelIndex.Load(root);
        var limits = options.Limits;
        var unetConfig = UNet2DConditionConfig.FromFile(Path.Combine(root, "unet", "config.json"), limits);
        var vaeConfig = AutoencoderKLConfig.FromFile(Path.Combine(root, "vae", "config.json"), limits);
        var textConfig = CLIPTextConfig.FromFile(Path.Combine(root, "text_encoder", "config.json"), limits);
        var scheduler = Core.Schedules.SchedulerConfig.FromFile(Path.Combine(root, "scheduler", "scheduler_config.json"), limits.MaxTrainTimesteps);
        var tokenizer = ClipTokenizer.FromFolder(Path.Combine(root, "tokenizer"));
        UniformLayers(unetConfig);

        using var file = TensorSource.Open(checkpoint, options.ReadOptions);
        UNet2DConditionModel? unet = null;
        AutoencoderKL? vae = null;
        CLIPTextModel? textEncoder = null;
        try
        {
            var part = options.ForPart(options.DType);
            unet = Load(file, ModelLoader.BuildForLoading(() => new UNet2DConditionModel(unetConfig, limits), part), UNetPrefix, k => UNetKey(k, unetConfig), part);
            var vaePart = options.ForPart(options.VaeDType);
            vae = Load(file, ModelLoader.BuildForLoading(() => new AutoencoderKL(vaeConfig, limits), vaePart), VaePrefix, k => VaeKey(k, vaeConfig), vaePart);
            textEncoder = LoadTextEncoder(file, textConfig, part);
            return new StableDiffusionPipeline(unet, vae, textEncoder, tokenizer, scheduler);
        }
        catch
        {
            unet?.Dispose();
            vae?.Dispose();
            textEncoder?.Dispose();
            throw;
        }
    }

    private static ModelLoadOptions Checked(ModelLoadOptions? options)
    {
        options ??= ModelLoadOptions.Default;
        options.Validate();
        if (options.Variant is not null)
            throw new ArgumentException("ModelLoadOptions.Variant does not apply to a single-file checkpoint (name the file itself).", nameof(options));
        return options;
    }

    private static CLIPTextModel LoadTextEncoder(TensorSource file, CLIPTextConfig config, ModelLoadOptions options)
    {
        if (!file.Keys.Any(k => k.StartsWith(TextEncoderPrefix, StringComparison.Ordinal)) && file.Keys.Any(k => k.StartsWith(OpenClipPrefix, StringComparison.Ordinal)))
            throw new ModelConfigException(file.Description,
                $"the text encoder is stored under '{OpenClipPrefix}*' (SD v2.x's OpenCLIP layout), which this reader does not convert; use the diffusers folder of that model.");
        bool withTextModel = file.Keys.Any(k => k.StartsWith(TextEncoderPrefix + "text_model.", StringComparison.Ordinal));
        return Load(file, ModelLoader.BuildForLoading(() => new CLIPTextModel(config, options.Limits), options), TextEncoderPrefix, k => TextEncoderKey(k, withTextModel), options,
            ldmKey => ldmKey.EndsWith("embeddings.position_ids", StringComparison.Ordinal));
    }

    /// <summary>
    /// Streams the component under <paramref name="prefix"/> into <paramref name="model"/> (owned: disposed on failure).
    /// Keys of the file outside the prefix belong to other components and are skipped; keys inside it that
    /// nothing maps to are unexpected.
    /// </summary>
    private static TModel Load<TModel>(TensorSource file, TModel model, string prefix, Func<string, string> ldmName, ModelLoadOptions options,
        Func<string, bool>? ignoreLdmKey = null)
        where TModel : nn.Module
    {
        try
        {
            if (!file.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
            {
                var prefixes = file.Keys.Select(k => string.Join('.', k.Split('.').Take(2)) + ".").Distinct().Order(StringComparer.Ordinal).Take(8);
                throw new ModelConfigException(file.Description,
                    $"the file holds no '{prefix}*' keys, so it is not an original-layout (LDM) SD v1.x checkpoint with a {model.GetName()} (its keys start with {string.Join(", ", prefixes)}).");
            }
            var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal);
            var used = new HashSet<string>(StringComparer.Ordinal);
            var missing = new List<string>();
            foreach (var (key, parameter) in model.state_dict())
            {
                var source = prefix + ldmName(key);
                if (!file.Contains(source))
                {
                    missing.Add($"{key} (looked for '{source}')");
                    continue;
                }
                used.Add(source);
                var shape = file.ShapeOf(source);
                // Attention weights the LDM VAE stores as 1x1 convolutions.
                bool reshape = shape.Length == 4 && shape[2] == 1 && shape[3] == 1 && parameter.dim() == 2;
                map[key] = new TensorMapping(source, reshape ? [shape[0], shape[1]] : shape, reshape);
            }
            var leftovers = file.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !used.Contains(k) && (ignoreLdmKey is null || !ignoreLdmKey(k)))
                .Order(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
                throw new StateDictMismatchException(file.Description, model.GetName(), missing, leftovers, []);
            using var view = new MappedSource(file, map, leftovers, ownsInner: false);
            ModelLoader.LoadInto(model, view, options, ignoreKey: null);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
