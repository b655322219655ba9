using TailorPO.Diffusion.Checkpoints;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// An open_clip CLIP model (a plain ViT image tower and a transformer text tower, e.g. ViT-H-14 as HPSv2 uses
/// it) loaded into this library's CLIP towers: <see cref="Vision"/> computes open_clip's <c>encode_image</c>,
/// <see cref="Text"/> its <c>encode_text</c> (pooled at the first end-of-text, the largest id). The weights
/// keep open_clip's state-dict names (<c>visual.transformer.resblocks.N.attn.in_proj_weight</c>,
/// <c>positional_embedding</c>, <c>text_projection</c>, <c>logit_scale</c>, ...) and are mapped at load time.
/// </summary>
public sealed class OpenClipModel : IDisposable
{
    /// <summary>The config file of a model folder (open_clip's JSON model config).</summary>
    public const string ConfigFileName = "open_clip_config.json";

    /// <summary>The weight file of a model folder (open_clip's <c>state_dict</c> as safetensors).</summary>
    public const string WeightsFileName = "model.safetensors";

    private OpenClipModel(OpenClipConfig config, CLIPVisionModelWithProjection vision, CLIPTextModelWithProjection text, double logitScale)
    {
        Config = config;
        Vision = vision;
        Text = text;
        LogitScale = logitScale;
    }

    /// <summary>The config the towers were built from.</summary>
    public OpenClipConfig Config { get; }

    /// <summary>The image tower with its projection (open_clip's <c>visual</c>).</summary>
    public CLIPVisionModelWithProjection Vision { get; }

    /// <summary>The text tower with its projection.</summary>
    public CLIPTextModelWithProjection Text { get; }

    /// <summary>The stored <c>logit_scale</c> (a log temperature; open_clip multiplies cosines by its exp).</summary>
    public double LogitScale { get; }

    /// <summary>Loads <see cref="ConfigFileName"/> and <see cref="WeightsFileName"/> from a folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="options">dtype, device and size limits (the variant picks <c>model.&lt;variant&gt;.safetensors</c>).</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing (a pickled <c>.pt</c> must be converted first: see docs/rewards.md).</exception>
    /// <exception cref="ModelConfigException">The config is malformed, unsupported or too big.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static OpenClipModel FromPretrained(string folder, ModelLoadOptions? options = null)
    {
        options ??= ModelLoadOptions.Default;
        options.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"open_clip model folder '{full}' does not exist.");
        var configFile = Path.Combine(full, ConfigFileName);
        if (!File.Exists(configFile))
            throw new FileNotFoundException($"open_clip model folder '{full}' has no {ConfigFileName} (open_clip's model config JSON, e.g. model_configs/ViT-H-14.json).", configFile);
        var config = OpenClipConfig.FromFile(configFile, options.Limits);
        var weights = ModelLoader.FindWeights(full, WeightsFileName, pickleTwin: null, options);
        return Load(config, weights, options);
    }

    /// <summary>Loads the towers from an open_clip state dict stored as safetensors.</summary>
    /// <param name="config">The model config.</param>
    /// <param name="weightsFile">The safetensors file.</param>
    /// <param name="options">dtype, device and size limits.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    /// <exception cref="FormatException">The file holds no 0-d <c>logit_scale</c>.</exception>
    public static OpenClipModel Load(OpenClipConfig config, string weightsFile, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= ModelLoadOptions.Default;
        options.Validate();
        using var file = TensorSource.Open(weightsFile, options.ReadOptions);
        if (!file.Contains(OpenClipCheckpoint.LogitScaleKey) || file.ShapeOf(OpenClipCheckpoint.LogitScaleKey).Length != 0)
            throw new FormatException($"'{file.Description}' holds no 0-d '{OpenClipCheckpoint.LogitScaleKey}'; it is not an open_clip CLIP state dict.");
        double logitScale;
        using (var scale = file.Read(OpenClipCheckpoint.LogitScaleKey))
            logitScale = scale.to(ScalarType.Float64).item<double>();

        var vision = ModelLoader.BuildForLoading(() => new CLIPVisionModelWithProjection(config.Vision, options.Limits), options);
        try
        {
            using (var view = OpenClipCheckpoint.View(file, OpenClipCheckpoint.VisionMap(config.Vision), config, "open_clip visual"))
                ModelLoader.LoadInto(vision, view, options, ignoreKey: null);
            var text = ModelLoader.BuildForLoading(() => new CLIPTextModelWithProjection(config.Text, options.Limits), options);
            try
            {
                using (var view = OpenClipCheckpoint.View(file, OpenClipCheckpoint.TextMap(config.Text), config, "open_clip text"))
                    ModelLoader.LoadInto(text, view, options, ignoreKey: null);
                return new OpenClipModel(config, vision, text, logitScale);
            }
            catch
            {
                text.Dispose();
                throw;
            }
        }
        catch
        {
            vision.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Vision.Dispose();
        Text.Dispose();
    }
}
