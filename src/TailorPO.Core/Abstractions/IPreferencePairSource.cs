using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// Offline preference pairs for Diffusion-DPO, already in the model's latent space (encode images with your VAE first;
/// a pixel-space model's latents are the images mapped to [-1, 1]). In Core so that model packages can implement it
/// (TailorPO.Diffusion's <c>CsvPreferencePairSource</c> reads image files) and trainers can consume it.
/// </summary>
public interface IPreferencePairSource
{
    /// <summary>How many pairs there are.</summary>
    int Count { get; }

    /// <summary>
    /// The pairs at <paramref name="indices"/>: prompts, preferred latents [n, C, H, W], dis-preferred latents, on the
    /// model's device. The caller owns (and disposes) the returned tensors.
    /// </summary>
    (IReadOnlyList<string> Prompts, Tensor Preferred, Tensor Dispreferred) Get(IReadOnlyList<int> indices);
}
