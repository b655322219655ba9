using TailorPO.Diffusion.UNet;

namespace TailorPO.Benchmarks;

/// <summary>The UNet configurations the benchmarks run.</summary>
public static class UNetConfigs
{
    /// <summary>
    /// runwayml/stable-diffusion-v1-5 <c>unet/config.json</c> (diffusers): 860M parameters, 64x64 latents
    /// for 512x512 images, 8 heads per block, 768-wide CLIP text embeddings.
    /// </summary>
    public static UNet2DConditionConfig StableDiffusionV15 { get; } = new()
    {
        SampleSize = 64,
        InChannels = 4,
        OutChannels = 4,
        CenterInputSample = false,
        FlipSinToCos = true,
        FreqShift = 0,
        DownBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        MidBlockType = "UNetMidBlock2DCrossAttn",
        UpBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        BlockOutChannels = [320, 640, 1280, 1280],
        LayersPerBlock = [2],
        DownsamplePadding = 1,
        MidBlockScaleFactor = 1,
        ActFn = "silu",
        NormNumGroups = 32,
        NormEps = 1e-5,
        CrossAttentionDim = [768],
        AttentionHeadDim = [8],
    };

    /// <summary>The tiny fixture UNet's config (tests/fixtures/unet/config.json, or TAILORPO_FIXTURES/unet).</summary>
    public static UNet2DConditionConfig Fixture() => UNet2DConditionConfig.FromFile(FixturePath("unet", "config.json"));

    /// <summary>A fixture file: under TAILORPO_FIXTURES, else under the first tests/fixtures above the benchmark's folder.</summary>
    public static string FixturePath(params string[] parts)
    {
        var root = Environment.GetEnvironmentVariable("TAILORPO_FIXTURES");
        if (!string.IsNullOrWhiteSpace(root)) return Path.Combine([root, .. parts]);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine([dir.FullName, "tests", "fixtures", .. parts]);
            if (Path.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/{string.Join('/', parts)} not found above the benchmark's folder; set TAILORPO_FIXTURES.");
    }
}
