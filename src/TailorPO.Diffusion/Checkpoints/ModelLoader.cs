using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using TailorPO.Core.Numerics;
using TailorPO.Diffusion.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>How one kind of model is found in a folder and built (the parts in which UNet, VAE and CLIP differ).</summary>
/// <typeparam name="TModel">The model type.</typeparam>
/// <param name="Kind">The model's name in messages, e.g. "UNet".</param>
/// <param name="WeightsBaseName">The weight file without variant, e.g. <c>diffusion_pytorch_model.safetensors</c>.</param>
/// <param name="Prepare">Reads and checks the config file within the limits, and returns how to build the model from it.</param>
/// <param name="Adapt">A renamed view of the weights (legacy keys); null: the file as it is.</param>
/// <param name="IgnoreKey">Checkpoint keys that may be left over (buffers, other towers); null: none.</param>
/// <param name="PickleTwin">The pickle file read instead through an opt-in loader (e.g. <c>diffusion_pytorch_model.bin</c>); null: never.</param>
/// <param name="PickleWithoutLoaderIsNotFound">
/// Without an opt-in loader, a folder holding only the pickle twin is reported as missing its weights (with the
/// conversion advice) instead of raising <see cref="UnsafeCheckpointException"/> (what the CLIP loaders report).
/// </param>
internal sealed record ModelRecipe<TModel>(
    string Kind, string WeightsBaseName, Func<string, ModelSizeLimits, Func<TModel>> Prepare,
    Func<TensorSource, TensorSource>? Adapt = null,
    Func<string, bool>? IgnoreKey = null, string? PickleTwin = null, bool PickleWithoutLoaderIsNotFound = false)
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
        // Cheap checks first: the config (bounded), then the weight files' headers; the model is built last.
        var logger = options.LoggerFactory?.CreateLogger(LogCategory) ?? NullLogger.Instance;
        TorchNumerics.EnsureGuarded(options.LoggerFactory?.CreateLogger(typeof(TorchNumerics).FullName!));
        var clock = Stopwatch.StartNew();
        var build = recipe.Prepare(configFile, options.Limits);
        var weightsFile = FindWeights(full, recipe.WeightsBaseName, recipe.PickleTwin, options, recipe.PickleWithoutLoaderIsNotFound);
        var source = TensorSource.Open(weightsFile, options.ReadOptions);
        try
        {
            if (recipe.Adapt is not null)
            {
                source = recipe.Adapt(source);
                if (source is MappedSource mapped) LogConversions(logger, recipe.Kind, weightsFile, mapped);
            }
            var model = BuildForLoading(build, options);
            try
            {
                LoadInto(model, source, options, recipe.IgnoreKey);
                if (logger.IsEnabled(LogLevel.Information))
                {
                    var parameters = model.parameters().Sum(p => p.numel());
                    logger.LogInformation("Loaded {Kind} from {WeightsFile}: {Tensors} tensors, {Parameters:N0} parameters as {DType} on {Device} in {Milliseconds} ms.",
                        recipe.Kind, weightsFile, source.Keys.Count, parameters, options.DType ?? ScalarType.Float32,
                        options.Device?.ToString() ?? "cpu", clock.ElapsedMilliseconds);
                }
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            source.Dispose();
        }
    }

    /// <summary>The category every loader logs under (the loaders share this one loading path).</summary>
    public const string LogCategory = "TailorPO.Diffusion.Checkpoints.ModelLoader";

    // Which keys the adapted view renamed or reshaped: the count and a few examples at Information, every one at Debug.
    private static void LogConversions(ILogger logger, string kind, string weightsFile, MappedSource mapped)
    {
        if (!logger.IsEnabled(LogLevel.Information)) return;
        var conversions = mapped.Conversions.ToList();
        if (conversions.Count == 0) return;
        var examples = string.Join(", ", conversions.Take(3).Select(c => $"{c.From} -> {c.To}{(c.Reshaped ? " (reshaped)" : "")}"));
        logger.LogInformation("{Kind}: converted {Count} legacy checkpoint keys of {WeightsFile} to current names (e.g. {Examples}).",
            kind, conversions.Count, weightsFile, examples);
        if (!logger.IsEnabled(LogLevel.Debug)) return;
        foreach (var (from, to, reshaped) in conversions)
            logger.LogDebug("{Kind}: {From} -> {To}{Reshaped}", kind, from, to, reshaped ? " (1x1 kernel read as a linear weight)" : "");
    }

    /// <summary>
    /// Builds a model whose every parameter a checkpoint is about to overwrite: within a <see cref="SkipInitScope"/>,
    /// so the parameters are created uninitialised directly in the target dtype and device (no random
    /// initialisation, no float32 copy first). Only for models that go to <see cref="LoadInto"/> next, which
    /// refuses to return a model with any parameter left unwritten.
    /// </summary>
    public static TModel BuildForLoading<TModel>(Func<TModel> build, ModelLoadOptions options)
    {
        using var scope = SkipInitScope.Begin(options.DType ?? ScalarType.Float32, options.Device ?? CPU);
        return build();
    }

    /// <summary>
    /// Places the freshly built model in the target dtype and device (a no-op for parameters built by
    /// <see cref="BuildForLoading"/>; buffers are moved), then streams the weights into it: names and shapes
    /// are checked from the headers first, then each tensor is read and copied (converted on copy), so peak
    /// memory is the model plus one tensor. Ends in eval mode.
    /// </summary>
    /// <exception cref="StateDictMismatchException">
    /// A key is missing, unexpected or mis-shaped, or a parameter was left unwritten: a model built by
    /// <see cref="BuildForLoading"/> holds uninitialised memory until the checkpoint writes it, so every
    /// parameter must have been written, LoRA adapter keys included (a fresh model has none).
    /// </exception>
    public static void LoadInto(nn.Module model, TensorSource source, ModelLoadOptions options, Func<string, bool>? ignoreKey)
    {
        if (options.DType is { } dtype) model.to(dtype);
        if (options.Device is { } device) model.to(device);
        var written = StateDictLoader.Load(model, source, ignoreKey, CheckpointFiles.IsAdapterKey);
        var unwritten = model.named_parameters().Select(p => p.name).Where(key => !written.Contains(key)).Order(StringComparer.Ordinal).ToList();
        if (unwritten.Count > 0)
            throw new StateDictMismatchException(source.Description, model.GetName(), unwritten, [], []);
        model.eval();
    }

    /// <summary>
    /// The weight file of the requested variant: the safetensors file, else the index of its shards
    /// (<c>&lt;name&gt;.index.json</c>, the variant before <c>.json</c> as diffusers names it), else its pickle twin
    /// only with an opt-in loader. No other variant is ever substituted; a missing file names what the
    /// folder holds.
    /// </summary>
    public static string FindWeights(string folder, string baseName, string? pickleTwin, ModelLoadOptions options, bool pickleWithoutLoaderIsNotFound = false)
    {
        var name = options.WeightFileName(baseName);
        var path = Path.Combine(folder, name);
        if (File.Exists(path)) return path;
        var index = Path.Combine(folder, options.WeightFileName(baseName + ".index.json"));
        if (File.Exists(index)) return index;
        if (pickleTwin is not null)
        {
            var pickle = Path.Combine(folder, options.WeightFileName(pickleTwin));
            if (File.Exists(pickle))
            {
                if (options.ReadOptions?.PickleLoader is not null) return pickle;
                if (!pickleWithoutLoaderIsNotFound) throw new UnsafeCheckpointException(pickle, "extension '.bin'");
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
