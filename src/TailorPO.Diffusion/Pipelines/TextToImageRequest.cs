namespace TailorPO.Diffusion.Pipelines;

/// <summary>What to generate. Defaults follow diffusers' StableDiffusionPipeline except where noted.</summary>
public sealed class TextToImageRequest
{
    /// <summary>One prompt per image.</summary>
    public required IReadOnlyList<string> Prompts { get; init; }

    /// <summary>Negative prompts (one per prompt); null uses the empty prompt for classifier-free guidance.</summary>
    public IReadOnlyList<string>? NegativePrompts { get; init; }

    /// <summary>Classifier-free guidance scale (diffusers: 7.5; the paper, DDPO and D3PO: 5). 1 disables guidance.</summary>
    public double GuidanceScale { get; init; } = 7.5;

    /// <summary>DDIM steps (diffusers: 50; the paper: 20).</summary>
    public int Steps { get; init; } = 50;

    /// <summary>DDIM eta in [0, 1] (diffusers: 0 = deterministic; the paper: 1).</summary>
    public double Eta { get; init; }

    /// <summary>Seed of the run's generator: the initial noise and every eta &gt; 0 draw come from it.</summary>
    public long Seed { get; init; }

    /// <summary>Image height in pixels; null uses the UNet's sample_size times the VAE's downsampling factor.</summary>
    public int? Height { get; init; }

    /// <summary>Image width in pixels; null as <see cref="Height"/>.</summary>
    public int? Width { get; init; }
}
