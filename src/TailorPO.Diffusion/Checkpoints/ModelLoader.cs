using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>How one kind of model is found in a folder and built (the parts in which UNet, VAE and CLIP differ).</summary>
/// <typeparam name="TModel">The model type.</typeparam>
/// <param name="Kind">The model's name in messages, e.g. "UNet".</param>
/// <param name="WeightsBaseName">The weight file without variant, e.g. <c>diffusion_pytorch_model.safetensors</c>.</param>
/// <param name="Build">Builds the model from its config file within the limits (the config is checked first).</param>
/// <param name="Normalize">Renames legacy keys of a file (null: none).</param>
/// <param name="IgnoreKey">Checkpoint keys that may be left over (buffers, other towers); null: none.</param>
/// <param name="PickleTwin">The pickle file read instead through an opt-in loader (e.g. <c>diffusion_pytorch_model.bin</c>); null: never.</param>
internal sealed record ModelRecipe<TModel>(
    string Kind, string WeightsBaseName, Func<string, ModelSizeLimits, TModel> Build,
    Func<Dictionary<string, Tensor>, string, Dictionary<string, Tensor>>? Normalize = null,
    Func<string, bool>? IgnoreKey = null, string? PickleTwin = null)
    where TModel : nn.Module;

/// <summary>The one loading path of every model folder: config first (bounded), then weights, then placement.</summary>
internal static class ModelLoader
{
    /// <summary>Loads <c>config.json</c> and the weights of <paramref name="folder"/> by <paramref name="recipe"/>.</summary>
    public static TModel FromFolder<TModel>(string folder, ModelLoadOptions? options, ModelRecipe<TModel> recipe)
        where TModel : nn.Module
    {
        options ??= ModelLoadOptions.Default;
        options.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"{recipe.Kind} folder '{full}' does not exist.");
        var configFile = Path.Combine(full, "config.json");
        if (!File.Exists(configFile))
            throw new FileNotFoundException($"{recipe.Kind} folder '{full}' has no config.json.", configFile);
        var weightsFile = FindWeights(full, recipe.WeightsBaseName, recipe.PickleTwin, options);

        var model = recipe.Build(configFile, options.Limits);
        try
        {
            var read = CheckpointFiles.Read(weightsFile, options.ReadOptions);
            var weights = read as Dictionary<string, Tensor> ?? new Dictionary<string, Tensor>(read, StringComparer.Ordinal);
            try
            {
                if (recipe.Normalize is not null) weights = recipe.Normalize(weights, weightsFile);
                StateDictLoader.Load(model, weights, weightsFile, recipe.IgnoreKey, CheckpointFiles.IsAdapterKey);
            }
            finally
            {
                foreach (var tensor in weights.Values) tensor.Dispose();
            }
            Place(model, options);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Moves a loaded model to the options' dtype and device and switches it to eval mode.</summary>
    public static void Place(nn.Module model, ModelLoadOptions options)
    {
        if (options.DType is { } dtype) model.to(dtype);
        if (options.Device is { } device) model.to(device);
        model.eval();
    }

    /// <summary>
    /// The weight file of the requested variant: the safetensors file, else its pickle twin only with an
    /// opt-in loader. No other variant is ever substituted; a missing file names what the folder holds.
    /// </summary>
    public static string FindWeights(string folder, string baseName, string? pickleTwin, ModelLoadOptions options)
    {
        var name = options.WeightFileName(baseName);
        var path = Path.Combine(folder, name);
        if (File.Exists(path)) return path;
        if (pickleTwin is not null)
        {
            var pickle = Path.Combine(folder, options.WeightFileName(pickleTwin));
            if (File.Exists(pickle))
            {
                if (options.ReadOptions?.PickleLoader is null) throw new UnsafeCheckpointException(pickle, "extension '.bin'");
                return pickle;
            }
        }
        var present = Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var stem = Path.GetFileNameWithoutExtension(baseName) + ".";
        var variants = present.Where(f => f!.StartsWith(stem, StringComparison.Ordinal) && f.EndsWith(".safetensors", StringComparison.Ordinal)).ToList();
        var hint = variants.Count > 0 ? $" Other weight files are present ({string.Join(", ", variants)}): choose one with ModelLoadOptions.Variant." : "";
        if (present.Any(f => CheckpointFiles.PickleExtensions.Contains(Path.GetExtension(f!).ToLowerInvariant())))
            hint += " Only pickle weights (.bin/.ckpt/.pt/.pth) are present otherwise: convert them to safetensors first.";
        throw new FileNotFoundException($"'{folder}' has no '{name}' (it holds: {string.Join(", ", present)}).{hint}", path);
    }
}
