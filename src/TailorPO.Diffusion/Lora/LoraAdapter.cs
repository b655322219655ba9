using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Checkpoints;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>
/// LoRA adapters on a model's <see cref="LoraLinear"/> layers (by default the UNet's attention
/// projections to_q, to_k, to_v, to_out.0). Attaching freezes every base parameter, so only the
/// adapters train; disabling gives the base (reference) model; merging folds the update into the
/// base weights for inference. Files are written in the PEFT / diffusers or the kohya-ss layout; reading also
/// accepts PEFT folders and diffusers' older layouts (see <see cref="LoraFile"/>).
/// </summary>
public sealed class LoraAdapter : IAdapter
{
    private readonly nn.Module _model;
    private readonly Dictionary<string, LoraLinear> _layers;
    private readonly Dictionary<string, bool> _previousRequiresGrad;
    private bool _removed;

    private LoraAdapter(nn.Module model, Dictionary<string, LoraLinear> layers, IReadOnlyList<string> targets, string keyPrefix)
    {
        _model = model;
        _layers = layers;
        TargetModules = targets;
        KeyPrefix = keyPrefix;
        _previousRequiresGrad = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad, StringComparer.Ordinal);
        foreach (var (_, parameter) in model.named_parameters()) parameter.requires_grad = false;
        foreach (var (_, parameter) in TrainableParameters) parameter.requires_grad = true;
    }

    /// <summary>The target module names the adapter was built for.</summary>
    public IReadOnlyList<string> TargetModules { get; }

    /// <summary>Prefix of the keys in saved files (diffusers: "unet.").</summary>
    public string KeyPrefix { get; }

    /// <summary>The adapted layers by module path.</summary>
    public IReadOnlyDictionary<string, LoraLinear> Layers => _layers;

    /// <inheritdoc />
    public IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> TrainableParameters
    {
        get
        {
            ThrowIfRemoved();
            return _layers.OrderBy(l => l.Key, StringComparer.Ordinal)
                .SelectMany(l => new[] { ($"{l.Key}.lora_A.weight", l.Value.LoraA!), ($"{l.Key}.lora_B.weight", l.Value.LoraB!) })
                .ToList();
        }
    }

    /// <summary>
    /// The user multiplier s of every layer's update (diffusers' <c>cross_attention_kwargs["scale"]</c>);
    /// effective update s * alpha / rank * B @ A.
    /// </summary>
    public double Scale
    {
        get => _layers.Values.First().Scale;
        set
        {
            ThrowIfRemoved();
            foreach (var layer in _layers.Values) layer.Scale = value;
        }
    }

    /// <inheritdoc />
    public bool Enabled
    {
        get => _layers.Values.First().AdapterEnabled;
        set
        {
            ThrowIfRemoved();
            foreach (var layer in _layers.Values) layer.AdapterEnabled = value;
        }
    }

    /// <summary>True while the updates are folded into the base weights.</summary>
    public bool IsMerged => _layers.Values.Any(l => l.IsMerged);

    /// <summary>Attaches fresh adapters (A kaiming-uniform from <paramref name="generator"/>, B zero) and freezes the base.</summary>
    /// <param name="model">The model, e.g. a <c>UNet2DConditionModel</c>.</param>
    /// <param name="config">Rank, alpha, targets, dropout.</param>
    /// <param name="generator">Random source of the A matrices.</param>
    /// <param name="keyPrefix">Key prefix in saved files ("unet." for a diffusers UNet).</param>
    /// <exception cref="ArgumentException">No layer matches the targets, or a layer already has an adapter.</exception>
    public static LoraAdapter Attach(nn.Module model, LoraConfig config, Generator generator, string keyPrefix = "unet.")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(generator);
        config.Validate();
        var layers = FindTargets(model, config.Targets, string.Join(", ", config.TargetModules));
        foreach (var (_, layer) in layers.OrderBy(l => l.Key, StringComparer.Ordinal))
            layer.AttachAdapter(config.Rank, config.EffectiveAlpha, generator, config.Dropout);
        return new LoraAdapter(model, layers, config.TargetModules, keyPrefix);
    }

    /// <summary>
    /// Attaches adapters with the layers, ranks and alphas of a LoRA file and loads its weights; the base is frozen.
    /// </summary>
    /// <param name="model">The model, e.g. a <c>UNet2DConditionModel</c>.</param>
    /// <param name="path">
    /// A .safetensors file in any layout of <see cref="LoraFileFormat"/>, or a PEFT adapter folder
    /// (<c>adapter_model.safetensors</c> + <c>adapter_config.json</c>).
    /// </param>
    /// <param name="keyPrefix">The model's key prefix in PEFT / diffusers files ("unet.").</param>
    /// <exception cref="StateDictMismatchException">Keys that fit no layer of the model, or wrong shapes.</exception>
    /// <exception cref="ModelConfigException">The adapter config asks for DoRA, rsLoRA or a lora_B bias, or is malformed.</exception>
    public static LoraAdapter FromFile(nn.Module model, string path, string keyPrefix = "unet.")
    {
        ArgumentNullException.ThrowIfNull(model);
        var candidates = AllLayers(model);
        using var contents = LoraFile.Read(path, candidates, keyPrefix);
        EnsureNoAdapters(contents.Layers.Keys.Select(k => (k, candidates[k])));
        var layers = new Dictionary<string, LoraLinear>(StringComparer.Ordinal);
        using var unused = new Generator(0);
        foreach (var (layerPath, weights) in contents.Layers.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var layer = candidates[layerPath];
            layer.AttachAdapter(weights.Rank, weights.Alpha, unused);
            CopyWeights(layer, weights);
            layers[layerPath] = layer;
        }
        var targets = layers.Keys.Select(TargetName).Distinct().Order(StringComparer.Ordinal).ToList();
        return new LoraAdapter(model, layers, targets, keyPrefix);
    }

    /// <summary>Folds every update into its base weight (un-merged by <see cref="Unmerge"/> or by disabling).</summary>
    public void Merge()
    {
        ThrowIfRemoved();
        foreach (var layer in _layers.Values) layer.Merge();
    }

    /// <summary>Subtracts merged updates again.</summary>
    public void Unmerge()
    {
        ThrowIfRemoved();
        foreach (var layer in _layers.Values) layer.Unmerge();
    }

    /// <inheritdoc />
    public IDisposable Disable()
    {
        ThrowIfRemoved();
        var previous = Enabled;
        Enabled = false;
        return new Restore(() => { if (!_removed) Enabled = previous; });
    }

    /// <inheritdoc />
    public void Save(string path) => Save(path, LoraFileFormat.Peft);

    /// <summary>Saves the adapter weights in <paramref name="layout"/>, atomically.</summary>
    /// <param name="path">Target .safetensors file.</param>
    /// <param name="layout">
    /// <see cref="LoraFileFormat.Peft"/> for diffusers and PEFT, <see cref="LoraFileFormat.Kohya"/> for A1111, ComfyUI
    /// and kohya-ss tools.
    /// </param>
    /// <exception cref="ArgumentException">A layout this library only reads.</exception>
    public void Save(string path, LoraFileFormat layout)
    {
        ThrowIfRemoved();
        LoraFile.Write(path, _layers, KeyPrefix, TargetModules, layout);
    }

    /// <summary>
    /// Loads weights (any layout of <see cref="LoraFileFormat"/>) into the attached adapters; the file must cover
    /// exactly these layers with the same ranks. Alphas are taken from the file. Values are copied into the
    /// existing parameters (no tensor is re-created), so optimizers and references to them stay valid.
    /// </summary>
    /// <exception cref="StateDictMismatchException">Layers missing from the file, extra layers, or other ranks.</exception>
    public void Load(string path)
    {
        ThrowIfRemoved();
        using var contents = LoraFile.Read(path, AllLayers(_model), KeyPrefix);
        var missing = _layers.Keys.Where(k => !contents.Layers.ContainsKey(k)).Select(k => $"{KeyPrefix}{k}.lora_A.weight").ToList();
        var unexpected = contents.Layers.Keys.Where(k => !_layers.ContainsKey(k)).Select(k => $"{KeyPrefix}{k}.lora_A.weight").ToList();
        var misShaped = contents.Layers.Where(l => _layers.TryGetValue(l.Key, out var layer) && layer.Rank != l.Value.Rank)
            .Select(l => $"{KeyPrefix}{l.Key}: file rank {l.Value.Rank} vs adapter rank {_layers[l.Key].Rank}").ToList();
        if (missing.Count + unexpected.Count + misShaped.Count > 0)
            throw new StateDictMismatchException(contents.FilePath, "the attached LoRA adapter", missing, unexpected, misShaped);

        bool merged = IsMerged;
        if (merged) Unmerge();
        foreach (var (layerPath, weights) in contents.Layers)
        {
            var layer = _layers[layerPath];
            // In place: the parameter tensors stay the same objects, so an optimizer built before a resume
            // keeps updating the adapter it was given.
            layer.SetAlpha(weights.Alpha);
            CopyWeights(layer, weights);
        }
        if (merged) Merge();
    }

    /// <summary>Detaches every adapter and restores the base parameters' previous requires_grad flags.</summary>
    public void Remove()
    {
        if (_removed) return;
        foreach (var layer in _layers.Values) layer.RemoveAdapter();
        foreach (var (name, parameter) in _model.named_parameters())
            if (_previousRequiresGrad.TryGetValue(name, out var flag)) parameter.requires_grad = flag;
        _removed = true;
    }

    private static void CopyWeights(LoraLinear layer, LoraLayerWeights weights)
    {
        using var noGrad = no_grad();
        layer.LoraA!.copy_(weights.A);
        layer.LoraB!.copy_(weights.B);
    }

    private static string TargetName(string layerPath)
    {
        // "…attn1.to_out.0" -> "to_out.0"; "…attn1.to_q" -> "to_q".
        var parts = layerPath.Split('.');
        return parts.Length >= 2 && int.TryParse(parts[^1], out _) ? $"{parts[^2]}.{parts[^1]}" : parts[^1];
    }

    private static Dictionary<string, LoraLinear> AllLayers(nn.Module model) =>
        model.named_modules().Where(m => m.module is LoraLinear).ToDictionary(m => m.name, m => (LoraLinear)m.module, StringComparer.Ordinal);

    private static Dictionary<string, LoraLinear> FindTargets(nn.Module model, Func<string, bool> targets, string description)
    {
        var all = AllLayers(model);
        var chosen = all.Where(l => targets(l.Key)).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
        if (chosen.Count == 0)
            throw new ArgumentException(
                $"No adaptable layer matches the LoRA targets [{description}]. The model has {all.Count} adaptable layers, e.g. {string.Join(", ", all.Keys.Take(4))}.",
                "config");
        EnsureNoAdapters(chosen.Select(c => (c.Key, c.Value)));
        return chosen;
    }

    private static void EnsureNoAdapters(IEnumerable<(string Path, LoraLinear Layer)> layers)
    {
        var taken = layers.Where(l => l.Layer.HasAdapter).Select(l => l.Path).ToList();
        if (taken.Count > 0)
            throw new ArgumentException($"{taken.Count} layers already carry a LoRA adapter (e.g. {taken[0]}); remove the existing adapter first.", "model");
    }

    private void ThrowIfRemoved()
    {
        if (_removed) throw new InvalidOperationException("This LoRA adapter was removed from its model.");
    }

    private sealed class Restore(Action action) : IDisposable
    {
        private Action? _action = action;

        public void Dispose()
        {
            _action?.Invoke();
            _action = null;
        }
    }
}
