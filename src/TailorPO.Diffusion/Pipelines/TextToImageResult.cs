using TailorPO.Diffusion.Imaging;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>Generated images. The tensors are owned by the result: dispose it when done.</summary>
public sealed class TextToImageResult : IDisposable
{
    internal TextToImageResult(Tensor images, Tensor latents, IReadOnlyList<string> prompts, long seed)
    {
        Images = images;
        Latents = latents;
        Prompts = prompts;
        Seed = seed;
    }

    /// <summary>RGB images in [0, 1], [B, 3, H, W], float32, CPU.</summary>
    public Tensor Images { get; }

    /// <summary>The final latents x_0 (scaled as the UNet sees them), [B, C, h, w].</summary>
    public Tensor Latents { get; }

    /// <summary>The prompts, one per image.</summary>
    public IReadOnlyList<string> Prompts { get; }

    /// <summary>The seed used.</summary>
    public long Seed { get; }

    /// <summary>Saves each image as <c>{prefix}{index}.png</c> in <paramref name="folder"/>; returns the paths.</summary>
    public IReadOnlyList<string> SavePngs(string folder, string prefix = "image-")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var paths = new List<string>();
        for (long i = 0; i < Images.shape[0]; i++)
        {
            var path = Path.Combine(folder, $"{prefix}{i:D3}.png");
            using var image = Images[i];
            ImageTensors.SavePng(image, path);
            paths.Add(path);
        }
        return paths;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Latents.Dispose();
    }
}
