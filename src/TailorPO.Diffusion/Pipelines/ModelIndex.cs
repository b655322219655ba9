using System.Text.Json;
using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>
/// A diffusers <c>model_index.json</c>: which component lives in which sub-folder and of which class.
/// </summary>
public sealed class ModelIndex
{
    /// <summary>
    /// The components a Stable Diffusion text-to-image pipeline needs. The <c>vae</c> is optional: a folder
    /// whose index lacks it (or sets it to <c>[null, null]</c>) holds a pixel-space model.
    /// </summary>
    public static readonly IReadOnlyList<string> RequiredComponents = ["unet", "text_encoder", "tokenizer", "scheduler"];

    /// <summary>The optional VAE component's name.</summary>
    public const string VaeComponent = "vae";

    private ModelIndex(string source, string className, IReadOnlyDictionary<string, (string Library, string ClassName)> components)
    {
        Source = source;
        ClassName = className;
        Components = components;
    }

    /// <summary>The file read.</summary>
    public string Source { get; }

    /// <summary>The pipeline class named by <c>_class_name</c> (e.g. StableDiffusionPipeline).</summary>
    public string ClassName { get; }

    /// <summary>Components by folder name: (library, class), e.g. unet: (diffusers, UNet2DConditionModel).</summary>
    public IReadOnlyDictionary<string, (string Library, string ClassName)> Components { get; }

    /// <summary>True when the index names a VAE (latent diffusion); false for a pixel-space model.</summary>
    public bool HasVae => Components.ContainsKey(VaeComponent);

    /// <summary>Reads <c>model_index.json</c> from a diffusers folder.</summary>
    /// <exception cref="FileNotFoundException">The folder has no model_index.json.</exception>
    /// <exception cref="ModelConfigException">The file is malformed or lacks a required component.</exception>
    public static ModelIndex Load(string folder)
    {
        var path = Path.Combine(Path.GetFullPath(folder), "model_index.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{folder}' is not a diffusers pipeline folder: it has no model_index.json.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of a model_index.json.</summary>
    public static ModelIndex Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException(source, $"not valid JSON ({ex.Message}).");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelConfigException(source, "the root is not a JSON object.");
            var className = document.RootElement.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String
                ? cls.GetString()! : "";
            var components = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name.StartsWith('_')) continue;
                // A component is ["library", "ClassName"]; [null, null] marks an absent optional part.
                if (property.Value.ValueKind == JsonValueKind.Array && property.Value.GetArrayLength() == 2
                    && property.Value[0].ValueKind == JsonValueKind.String && property.Value[1].ValueKind == JsonValueKind.String)
                    components[property.Name] = (property.Value[0].GetString()!, property.Value[1].GetString()!);
            }

            var missing = RequiredComponents.Where(c => !components.ContainsKey(c)).ToList();
            if (missing.Count > 0)
            {
                var problems = missing.Select(m => $"the required component '{m}' is missing (expected \"{m}\": [\"library\", \"ClassName\"]).").ToList();
                if (!components.ContainsKey(VaeComponent))
                    problems.Add($"there is no '{VaeComponent}' either: once complete, the folder loads as a pixel-space model (add \"{VaeComponent}\": [\"diffusers\", \"AutoencoderKL\"] for latent diffusion).");
                throw new ModelConfigException(source, problems);
            }
            return new ModelIndex(source, className, components);
        }
    }
}
