using System.Text.Json;
using TailorPO.Core.Json;
using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>
/// A diffusers <c>model_index.json</c>: which component lives in which sub-folder and of which class,
/// checked against what this library implements. The pipeline class must be one this library can
/// assemble (<see cref="SupportedPipelines"/>; an SDXL or pixel-space <c>UNet2DModel</c> pipeline is
/// refused by name), each component must name a class this library builds
/// (<see cref="SupportedClasses"/>), and the scheduler must be one whose config the DDIM sampler can
/// honour (<see cref="SupportedSchedulers"/>); <see cref="SamplerDescription"/> says how it is sampled.
/// </summary>
public sealed class ModelIndex
{
    /// <summary>The components a Stable Diffusion text-to-image pipeline needs.</summary>
    public static readonly IReadOnlyList<string> RequiredComponents = ["unet", "text_encoder", "tokenizer", "scheduler"];

    /// <summary>The optional VAE component's name.</summary>
    public const string VaeComponent = "vae";

    /// <summary>
    /// Components loaded when present: <c>vae</c> (absent for a pixel-space model, whose UNet works on
    /// images directly).
    /// </summary>
    public static readonly IReadOnlyList<string> OptionalComponents = ["vae"];

    /// <summary>Components that may be listed but are not used (SD v1.5 lists a safety checker and its feature extractor).</summary>
    public static readonly IReadOnlyList<string> IgnoredComponents = ["safety_checker", "feature_extractor", "image_encoder"];

    /// <summary>Pipeline classes (<c>_class_name</c>) this library assembles.</summary>
    public static readonly IReadOnlyList<string> SupportedPipelines = ["StableDiffusionPipeline"];

    /// <summary>The classes this library builds for each component (first = the usual one).</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> SupportedClasses = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["unet"] = ["UNet2DConditionModel"],
        ["vae"] = ["AutoencoderKL"],
        ["text_encoder"] = ["CLIPTextModel"],
        ["tokenizer"] = ["CLIPTokenizer", "CLIPTokenizerFast"],
        ["scheduler"] = ["DDIMScheduler", "PNDMScheduler", "DDPMScheduler"],
    };

    /// <summary>Schedulers whose config the library's DDIM sampler honours (they share the DDPM noise schedule).</summary>
    public static IReadOnlyList<string> SupportedSchedulers => SupportedClasses["scheduler"];

    // What is known about classes that look plausible but are not implemented, for the message.
    private static readonly Dictionary<string, string> KnownUnsupported = new(StringComparer.Ordinal)
    {
        ["StableDiffusionXLPipeline"] = "an SDXL pipeline (two text encoders, added time/text conditioning), which this library does not implement",
        ["StableDiffusionXLImg2ImgPipeline"] = "an SDXL pipeline, which this library does not implement",
        ["DDPMPipeline"] = "an unconditional pixel-space pipeline (UNet2DModel without text conditioning), which this library does not implement",
        ["DDIMPipeline"] = "an unconditional pixel-space pipeline (UNet2DModel without text conditioning), which this library does not implement",
        ["UNet2DModel"] = "an unconditional UNet without cross-attention, which this library does not implement (it builds UNet2DConditionModel)",
        ["EulerDiscreteScheduler"] = "a Karras-sigma scheduler whose sampling is not DDIM's",
        ["EulerAncestralDiscreteScheduler"] = "a Karras-sigma scheduler whose sampling is not DDIM's",
        ["DPMSolverMultistepScheduler"] = "a multistep solver whose sampling is not DDIM's",
        ["LMSDiscreteScheduler"] = "a Karras-sigma scheduler whose sampling is not DDIM's",
        ["AutoencoderTiny"] = "a distilled VAE with other keys, which this library does not implement",
    };

    private ModelIndex(string source, string className, IReadOnlyDictionary<string, (string Library, string ClassName)> components,
        string samplerDescription)
    {
        Source = source;
        ClassName = className;
        Components = components;
        SamplerDescription = samplerDescription;
    }

    /// <summary>The file read.</summary>
    public string Source { get; }

    /// <summary>The pipeline class named by <c>_class_name</c> (e.g. StableDiffusionPipeline).</summary>
    public string ClassName { get; }

    /// <summary>Components by folder name: (library, class), e.g. unet: (diffusers, UNet2DConditionModel).</summary>
    public IReadOnlyDictionary<string, (string Library, string ClassName)> Components { get; }

    /// <summary>The components a pipeline loads from this folder: the required ones and the optional ones listed.</summary>
    public IReadOnlyList<string> LoadedComponents => [.. RequiredComponents, .. OptionalComponents.Where(Components.ContainsKey)];

    /// <summary>True when the folder lists a VAE (false for a pixel-space model).</summary>
    public bool HasVae => Components.ContainsKey("vae");

    /// <summary>The scheduler class named for the <c>scheduler</c> component.</summary>
    public string SchedulerClass => Components["scheduler"].ClassName;

    /// <summary>
    /// How this folder is sampled: always with DDIM (the preference losses need DDIM's posterior and
    /// log-probabilities) on the noise schedule the named scheduler's config describes.
    /// </summary>
    public string SamplerDescription { get; }

    /// <summary>
    /// Reads <c>model_index.json</c> from a diffusers folder and, when present, checks that
    /// <c>scheduler/scheduler_config.json</c> names the same, supported scheduler class.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder has no model_index.json.</exception>
    /// <exception cref="ModelConfigException">The file is malformed, gives a key twice, lacks a required component or names a class this library does not implement.</exception>
    public static ModelIndex Load(string folder)
    {
        var root = Path.GetFullPath(folder);
        var path = Path.Combine(root, "model_index.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{folder}' is not a diffusers pipeline folder: it has no model_index.json.", path);
        if (!StrictJson.TryParseFile(path, default, out var document, out var problem))
            throw new ModelConfigException(path, problem);
        ModelIndex index;
        using (document) index = Parse(document.RootElement, path);

        var schedulerConfig = Path.Combine(root, "scheduler", "scheduler_config.json");
        if (File.Exists(schedulerConfig))
            index = index.WithSchedulerConfig(schedulerConfig);
        return index;
    }

    /// <summary>Parses the text of a model_index.json.</summary>
    /// <exception cref="ModelConfigException">The text is malformed, gives a key twice, lacks a required component or names a class this library does not implement.</exception>
    public static ModelIndex Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!StrictJson.TryParse(json, default, out var document, out var problem))
            throw new ModelConfigException(source, problem);
        using (document) return Parse(document.RootElement, source);
    }

    private static ModelIndex Parse(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelConfigException(source, "the root is not a JSON object.");
        var className = root.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String ? cls.GetString()! : "";
        var problems = new List<string>();
        if (!SupportedPipelines.Contains(className))
            problems.Add($"'_class_name' is '{className}'{Why(className)}; supported pipelines: {string.Join(", ", SupportedPipelines)}.");

        var components = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name.StartsWith('_')) continue;
            // A component is ["library", "ClassName"]; [null, null] marks an absent optional part.
            if (property.Value.ValueKind == JsonValueKind.Array && property.Value.GetArrayLength() == 2
                && property.Value[0].ValueKind == JsonValueKind.String && property.Value[1].ValueKind == JsonValueKind.String)
                components[property.Name] = (property.Value[0].GetString()!, property.Value[1].GetString()!);
        }

        foreach (var missing in RequiredComponents.Where(c => !components.ContainsKey(c)))
            problems.Add($"the required component '{missing}' is missing (expected \"{missing}\": [\"library\", \"ClassName\"]).");
        foreach (var (name, (_, componentClass)) in components)
        {
            if (SupportedClasses.TryGetValue(name, out var supported))
            {
                if (!supported.Contains(componentClass))
                    problems.Add($"component '{name}' is a {componentClass}{Why(componentClass)}; supported: {string.Join(", ", supported)}.");
            }
            else if (!IgnoredComponents.Contains(name))
            {
                problems.Add($"component '{name}' ({componentClass}) is not part of a Stable Diffusion pipeline this library assembles (it uses {string.Join(", ", [.. RequiredComponents, .. OptionalComponents])}).");
            }
        }
        if (problems.Count > 0) throw new ModelConfigException(source, problems);
        return new ModelIndex(source, className, components, DescribeSampler(components["scheduler"].Item2, source, null));
    }

    // Cross-checks scheduler/scheduler_config.json: same supported class, and nothing DDIM cannot honour.
    private ModelIndex WithSchedulerConfig(string schedulerConfig)
    {
        if (!StrictJson.TryParseFile(schedulerConfig, default, out var document, out var problem))
            throw new ModelConfigException(schedulerConfig, problem);
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ModelConfigException(schedulerConfig, "the root is not a JSON object.");
            var fileClass = root.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String ? cls.GetString()! : SchedulerClass;
            if (!SupportedSchedulers.Contains(fileClass))
                throw new ModelConfigException(schedulerConfig,
                    $"'_class_name' is '{fileClass}'{Why(fileClass)}; supported schedulers: {string.Join(", ", SupportedSchedulers)} (all sampled with DDIM).");
            if (fileClass != SchedulerClass)
                throw new ModelConfigException(schedulerConfig,
                    $"'_class_name' is '{fileClass}' but '{Source}' names the scheduler a {SchedulerClass}; the two files must agree.");
            if (fileClass == "DDPMScheduler" && root.TryGetProperty("variance_type", out var variance) && variance.ValueKind == JsonValueKind.String
                && variance.GetString() is { } kind && kind.StartsWith("learned", StringComparison.Ordinal))
                throw new ModelConfigException(schedulerConfig,
                    $"'variance_type' is '{kind}': the UNet then predicts a variance as well as the noise, which the DDIM sampler cannot use.");
            return new ModelIndex(Source, ClassName, Components, DescribeSampler(fileClass, schedulerConfig, root));
        }
    }

    private static string DescribeSampler(string schedulerClass, string source, JsonElement? config)
    {
        var text = schedulerClass == "DDIMScheduler"
            ? $"DDIM, as '{source}' names (DDIMScheduler)"
            : $"DDIM on the noise schedule of the {schedulerClass} config in '{source}' (the preference losses need DDIM's posterior; "
              + "as in DDPO's DDIMScheduler.from_config, keys DDIM needs that the file lacks take DDIMScheduler's defaults";
        if (schedulerClass != "DDIMScheduler")
        {
            if (config is { } root)
            {
                var defaulted = new[] { "clip_sample", "set_alpha_to_one", "steps_offset", "timestep_spacing", "prediction_type" }
                    .Where(k => !root.TryGetProperty(k, out var v) || v.ValueKind == JsonValueKind.Null).ToList();
                text += defaulted.Count == 0 ? ": none here" : $": here {string.Join(", ", defaulted)}";
                if (schedulerClass == "PNDMScheduler" && root.TryGetProperty("skip_prk_steps", out var prk) && prk.ValueKind == JsonValueKind.False)
                    text += "; skip_prk_steps = false only concerns PNDM's own Runge-Kutta warm-up, which DDIM does not use";
            }
            text += ")";
        }
        return text;
    }

    private static string Why(string className) => KnownUnsupported.TryGetValue(className, out var why) ? $" ({why})" : "";
}
