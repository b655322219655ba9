using static TorchSharp.torch;

namespace TailorPO.Rewards.Validation;

/// <summary>
/// Checks the inputs every reward receives: an RGB batch [B, 3, H, W] of finite values in [0, 1]
/// and exactly one prompt per image. Messages name the argument, what it got and what was expected.
/// </summary>
internal static class ImageBatchGuard
{
    /// <summary>
    /// Slack on the [0, 1] range: decoders clamp exactly, but a float16 round trip or a resize
    /// can overshoot by a rounding error, which is not a caller's mistake.
    /// </summary>
    internal const double RangeTolerance = 1e-5;

    /// <summary>Validates shape, dtype, finiteness, range and the prompt count.</summary>
    internal static void Validate(Tensor? images, IReadOnlyList<string>? prompts, string imagesName = "images", string promptsName = "prompts")
    {
        ValidateShapeAndType(images, imagesName);
        ArgumentNullException.ThrowIfNull(prompts, promptsName);
        var batch = images!.shape[0];
        if (prompts.Count != batch)
            throw new ArgumentException(
                $"{promptsName} has {prompts.Count} prompt(s) but {imagesName} holds {batch} image(s); pass exactly one prompt per image.",
                promptsName);
        ValidateValues(images, imagesName);
    }

    /// <summary>Validates rank, channel count, a non-empty batch and a floating-point dtype.</summary>
    internal static void ValidateShapeAndType(Tensor? images, string imagesName)
    {
        ArgumentNullException.ThrowIfNull(images, imagesName);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException(
                $"{imagesName} has shape [{string.Join(", ", images.shape)}]; expected RGB images of shape [B, 3, H, W].",
                imagesName);
        if (images.shape[0] < 1 || images.shape[2] < 1 || images.shape[3] < 1)
            throw new ArgumentException(
                $"{imagesName} has shape [{string.Join(", ", images.shape)}]; batch, height and width must be at least 1.",
                imagesName);
        if (!images.is_floating_point())
            throw new ArgumentException(
                $"{imagesName} has dtype {images.dtype}; expected a floating-point tensor (float32) with values in [0, 1]. " +
                "Convert uint8 images with images.to(float32) / 255.",
                imagesName);
    }

    /// <summary>Rejects NaN/infinity and values outside [0, 1] (with <see cref="RangeTolerance"/>).</summary>
    internal static void ValidateValues(Tensor images, string imagesName)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = images.detach();
        var nonFinite = values.isfinite().logical_not().sum().item<long>();
        if (nonFinite > 0)
            throw new ArgumentException(
                $"{imagesName} holds {nonFinite} NaN or infinite value(s); expected finite values in [0, 1].",
                imagesName);
        var min = values.min().to(ScalarType.Float64).item<double>();
        var max = values.max().to(ScalarType.Float64).item<double>();
        if (min < -RangeTolerance || max > 1 + RangeTolerance)
            throw new ArgumentOutOfRangeException(
                imagesName,
                $"{imagesName} has values in [{min:G6}, {max:G6}]; expected images in [0, 1]. " +
                "Map [-1, 1] model outputs with (x + 1) / 2 and clamp, or divide 0-255 values by 255.");
    }

    /// <summary>
    /// The dtype rewards compute in: float64 stays float64 (gradient checks), every other floating
    /// type (float16, bfloat16, float32) is computed in float32 so statistics do not lose precision.
    /// </summary>
    internal static ScalarType ComputeType(Tensor images) =>
        images.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
}
