using System.ComponentModel;
using Spectre.Console.Cli;
using TailorPO.Samples.Cli;
using TailorPO.Shapes;

namespace TailorPO.Samples.Commands;

/// <summary>Options of commands that sample from a model: the model folder, an optional LoRA and the DDIM settings.</summary>
public class ModelSettings : GlobalSettings
{
    /// <summary>The diffusers folder; default the embedded model.</summary>
    [CommandOption("--model <FOLDER>")]
    [Description("A diffusers Stable Diffusion folder (pixel-space or with a VAE). Default: the embedded tiny model.")]
    public string? Model { get; init; }

    /// <summary>A PEFT LoRA safetensors file for the UNet.</summary>
    [CommandOption("--lora <FILE>")]
    [Description("A LoRA file (PEFT/diffusers safetensors, unet.* keys) applied to the UNet.")]
    public string? Lora { get; init; }

    /// <summary>DDIM steps.</summary>
    [CommandOption("--steps <N>")]
    [Description("DDIM steps (the paper: 20).")]
    [DefaultValue(20)]
    public int Steps { get; init; } = 20;

    /// <summary>Classifier-free guidance scale.</summary>
    [CommandOption("--cfg <SCALE>")]
    [Description("Classifier-free guidance scale; 1 disables guidance. Default 3, where the embedded model draws cleanest; the paper samples with 5.")]
    [DefaultValue(3.0)]
    public double GuidanceScale { get; init; } = 3.0;

    /// <summary>DDIM eta.</summary>
    [CommandOption("--eta <ETA>")]
    [Description("DDIM eta in [[0, 1]]: 1 is the paper's stochastic sampling (draws from --seed), 0 deterministic DDIM (use a lower --cfg with it on the embedded model).")]
    [DefaultValue(1.0)]
    public double Eta { get; init; } = 1.0;

    /// <summary>The model folder used.</summary>
    public string ModelFolder => Model ?? EmbeddedModel.Folder;

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        if (ModelFolderProblem(Model is null ? "the embedded model" : "--model", ModelFolder) is { } model) yield return model;
        if (FileProblem("--lora", Lora) is { } lora) yield return lora;
        if (Steps is < 1 or > 1000) yield return $"--steps must lie in [1, 1000]; got {Steps}.";
        if (RangeProblem("--cfg", GuidanceScale, 0, 100) is { } cfg) yield return cfg;
        if (RangeProblem("--eta", Eta, 0, 1) is { } eta) yield return eta;
    }
}
