using System.Text.Json;
using System.Text.Json.Serialization;

namespace TailorPO.Samples.Alignment;

/// <summary>Everything an <c>align</c> run was started with; saved as the run folder's options.json and read back by --resume.</summary>
public sealed record AlignmentPlan
{
    /// <summary>The file name inside the run folder.</summary>
    public const string FileName = "options.json";

    /// <summary>tailorpo, tailorpo-g, d3po, ddpo or diffusion-dpo.</summary>
    public string Method { get; init; } = "tailorpo";

    /// <summary>A name from <see cref="RewardChoice.Names"/>.</summary>
    public string Reward { get; init; } = "jpeg-compressibility";

    /// <summary>The diffusers folder (the embedded model's when <see cref="EmbeddedModel"/>).</summary>
    public string ModelFolder { get; init; } = "";

    /// <summary>True when the embedded tiny model is trained (it picks the default prompts).</summary>
    public bool EmbeddedModel { get; init; }

    /// <summary>Generated images the run may use.</summary>
    public int Budget { get; init; }

    /// <summary>The run seed.</summary>
    public long Seed { get; init; }

    /// <summary>Prompts per batch.</summary>
    public int Batch { get; init; }

    /// <summary>AdamW learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>LoRA rank.</summary>
    public int LoraRank { get; init; }

    /// <summary>DDIM steps.</summary>
    public int Steps { get; init; }

    /// <summary>Trained steps per trajectory (T_finetune).</summary>
    public int TrainedSteps { get; init; }

    /// <summary>CFG scale.</summary>
    public double GuidanceScale { get; init; }

    /// <summary>DDIM eta.</summary>
    public double Eta { get; init; }

    /// <summary>DPO beta.</summary>
    public double Beta { get; init; }

    /// <summary>Candidates per trained step (TailorPO).</summary>
    public int Candidates { get; init; }

    /// <summary>Device name.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>float32, float16 or bfloat16.</summary>
    public string DType { get; init; } = "float32";

    /// <summary>A prompt file, or null for the default prompts.</summary>
    public string? PromptFile { get; init; }

    /// <summary>Evaluation seeds per held-out prompt.</summary>
    public int EvaluationSeeds { get; init; }

    /// <summary>CLIP weights for aesthetic / clip-score.</summary>
    public string? ClipModel { get; init; }

    /// <summary>The aesthetic MLP file.</summary>
    public string? AestheticHead { get; init; }

    /// <summary>
    /// TailorPO's pairing: "same-input" (the paper's method, default) or "different-inputs" (Table 10's step-level
    /// ranking ablation; see <c>TailorPOPairing</c>).
    /// </summary>
    public string Pairing { get; init; } = "same-input";

    /// <summary>TailorPO-G: a constant guidance eta, or null for the paper's cosine schedule in [0.1, 0.2].</summary>
    public double? GuidanceEta { get; init; }

    /// <summary>Diffusion-DPO: pairs the base model generates for its offline set, or null for the library default.</summary>
    public int? DiffusionDpoGeneratedPairs { get; init; }

    /// <summary>libtorch threads.</summary>
    public int Threads { get; init; }

    /// <summary>Writes the plan as indented JSON (temp file + rename).</summary>
    public void Save(string folder)
    {
        var path = Path.Combine(folder, FileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a run folder's plan.</summary>
    /// <exception cref="InvalidDataException">The file is missing or malformed.</exception>
    public static AlignmentPlan Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new InvalidDataException($"'{folder}' is not an align run folder: it has no {FileName}.");
        try
        {
            return JsonSerializer.Deserialize<AlignmentPlan>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is malformed: {ex.Message}", ex);
        }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };
}
