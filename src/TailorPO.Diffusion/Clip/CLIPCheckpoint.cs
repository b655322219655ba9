using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>Reads a transformers model folder (<c>config.json</c> + <c>model.safetensors</c>).</summary>
internal static class CLIPCheckpoint
{
    /// <summary>
    /// What every CLIP model's <c>FromPretrained</c> does: checks the dtype, finds <c>config.json</c>,
    /// builds the model from it, loads the weights (names and shapes checked, <paramref name="ignore"/>
    /// naming the keys another model of a CLIPModel file owns), moves it to the dtype and device and
    /// switches it to eval mode; on any failure the half-built model is disposed.
    /// </summary>
    public static TModel FromPretrained<TModel>(string folder, ScalarType? dtype, Device? device, string? variant,
        Func<string, TModel> build, Func<string, bool> ignore)
        where TModel : nn.Module
    {
        CLIPInputs.WeightDType(dtype, nameof(dtype));
        var configFile = ConfigFile(folder);
        var model = build(configFile);
        try
        {
            Load(model, WeightsFile(Path.GetDirectoryName(configFile)!, variant), ignore);
            Place(model, dtype, device);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The weight file of a folder: <c>model.safetensors</c>, or <c>model.{variant}.safetensors</c>.</summary>
    public static string WeightsFile(string folder, string? variant)
    {
        var name = variant is null ? "model.safetensors" : $"model.{variant}.safetensors";
        var path = Path.Combine(folder, name);
        if (File.Exists(path)) return path;
        var present = Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var hint = present.Any(f => f!.EndsWith(".bin", StringComparison.Ordinal))
            ? " Only pickle (.bin) weights are present: convert them to safetensors first."
            : "";
        throw new FileNotFoundException(
            $"'{folder}' has no '{name}' (it holds: {string.Join(", ", present)}).{hint}", path);
    }

    /// <summary>The config file of a folder.</summary>
    public static string ConfigFile(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"Model folder '{full}' does not exist.");
        var path = Path.Combine(full, "config.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model folder '{full}' has no config.json.", path);
        return path;
    }

    /// <summary>
    /// Loads the file into the module (names and shapes checked). <paramref name="ignore"/> names
    /// the checkpoint keys that are allowed to be left over (buffers, the other tower of a
    /// CLIPModel file); any other stray key is an error.
    /// </summary>
    public static void Load(nn.Module module, string weightsFile, Func<string, bool> ignore)
    {
        var weights = SafetensorsFile.LoadAll(weightsFile);
        try
        {
            StateDictLoader.Load(module, weights, weightsFile, ignoreKey: ignore);
        }
        finally
        {
            foreach (var tensor in weights.Values) tensor.Dispose();
        }
    }

    /// <summary>
    /// True for keys a transformers CLIP file may carry that a single tower does not own:
    /// the non-persistent <c>position_ids</c> buffers, and in a full CLIPModel file the other
    /// tower, its projection and <c>logit_scale</c>.
    /// </summary>
    public static bool IsForeignToText(string key, bool withProjection) =>
        key is "text_model.embeddings.position_ids" or "vision_model.embeddings.position_ids" or "logit_scale"
        || key.StartsWith("vision_model.", StringComparison.Ordinal)
        || key.StartsWith("visual_projection.", StringComparison.Ordinal)
        || (!withProjection && key.StartsWith("text_projection.", StringComparison.Ordinal));

    /// <summary>The vision tower's counterpart of <see cref="IsForeignToText"/>.</summary>
    public static bool IsForeignToVision(string key) =>
        key is "text_model.embeddings.position_ids" or "vision_model.embeddings.position_ids" or "logit_scale"
        || key.StartsWith("text_model.", StringComparison.Ordinal)
        || key.StartsWith("text_projection.", StringComparison.Ordinal);

    /// <summary>Moves a freshly loaded model to the requested dtype and device.</summary>
    public static void Place(nn.Module module, ScalarType? dtype, Device? device)
    {
        if (dtype is { } type) module.to(type);
        if (device is not null) module.to(device);
    }
}
