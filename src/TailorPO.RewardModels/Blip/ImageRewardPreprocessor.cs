using TailorPO.Rewards.Clip;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// ImageReward's differentiable preprocessing, the transform ReFL applies to decoded images before
/// <c>score_gard</c> (torchvision 0.14 on float tensors in [0, 1]): (1) <c>Resize(size, BICUBIC)</c>: the shorter side
/// becomes <see cref="ImageSize"/>, the longer <c>int(size * long / short)</c>, torch's bicubic (a = -0.75, no
/// antialias, no clamping), skipped when the size already matches; (2) <c>CenterCrop(size)</c> with
/// <c>top = int(round((h - size) / 2))</c> (Python's round: ties to even), likewise left; (3) CLIP's normalisation.
/// </summary>
/// <remarks>
/// ImageReward's own <c>score</c> on PIL images resizes with Pillow's antialiased bicubic on uint8 instead; that path
/// is not differentiable and differs whenever a resize happens (by 2.7e-2 on the fixture's 40x48 case; identical
/// without a resize).
/// </remarks>
public sealed class ImageRewardPreprocessor
{
    private readonly ClipImagePreprocessor _clip;

    /// <summary>Creates the preprocessor.</summary>
    /// <param name="imageSize">The square side the ViT takes, &gt;= 1.</param>
    /// <param name="mean">Per-channel mean (3 values); null for OpenAI CLIP's (ImageReward's).</param>
    /// <param name="std">Per-channel std (3 values &gt; 0); null for OpenAI CLIP's.</param>
    public ImageRewardPreprocessor(int imageSize, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null)
    {
        _clip = new ClipImagePreprocessor(imageSize, imageSize, imageSize, mean, std);
    }

    /// <summary>The square side of the output.</summary>
    public int ImageSize => _clip.ShortestEdge;

    /// <summary>Runs the three steps on images [B, 3, H, W] in [0, 1]; differentiable.</summary>
    /// <exception cref="ArgumentException">The images are not [B, 3, H, W] floating-point.</exception>
    public Tensor Preprocess(Tensor images)
    {
        ImageBatchGuard.ValidateShapeAndType(images, nameof(images));
        using var scope = NewDisposeScope();
        var resized = _clip.Resize(images);
        var (top, left) = CropOrigin(resized.shape[2], resized.shape[3], ImageSize);
        var cropped = resized[.., .., TensorIndex.Slice(top, top + ImageSize), TensorIndex.Slice(left, left + ImageSize)];
        return _clip.Normalize(cropped).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's centre-crop origin: <c>(int(round((h - size) / 2)), int(round((w - size) / 2)))</c>, ties to even.</summary>
    public static (long Top, long Left) CropOrigin(long height, long width, int size) =>
        ((long)Math.Round((height - size) / 2.0, MidpointRounding.ToEven), (long)Math.Round((width - size) / 2.0, MidpointRounding.ToEven));
}
