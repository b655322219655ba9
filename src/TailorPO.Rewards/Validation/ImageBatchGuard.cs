using static TorchSharp.torch;

namespace TailorPO.Rewards.Validation;

/// <summary>
/// The one place every library reward checks its input: an RGB batch [B, 3, H, W] of floating-point
/// values and exactly one prompt per image (metadata only, no tensor work), then finite pixel values
/// in [0, 1] up to a range tolerance. Messages name the argument, what it got and what was expected.
/// </summary>
/// <remarks>
/// <para>Exceptions: a missing argument throws <see cref="ArgumentNullException"/>; a wrong shape,
/// dtype, prompt count or a NaN/infinite pixel throws <see cref="ArgumentException"/>; finite pixels
/// outside the tolerated range throw <see cref="ArgumentOutOfRangeException"/> (a subclass, so
/// <c>catch (ArgumentException)</c> sees every input error).</para>
/// <para>Tolerance semantics: a pixel v is accepted when <c>-tolerance &lt;= v &lt;= 1 + tolerance</c>,
/// compared in double precision on the value as the reward reads it. Rewards use tolerated excess as
/// it is (the differentiable rewards) or clamp it (the JPEG rewards, as DDPO clamps).</para>
/// <para>Two implementations of the value check give the same answers and messages:
/// <see cref="ValidateValues(Tensor, string, double)"/> uses libtorch reductions (any device, no
/// copy), <see cref="ValidateValues(ReadOnlySpan{float}, string, double)"/> is one managed pass over
/// a float32 CPU copy, for rewards that read every pixel on the CPU anyway (JPEG): there a few
/// libtorch passes cost more than the check itself.</para>
/// </remarks>
internal static class ImageBatchGuard
{
    /// <summary>Validates shape, dtype, prompt count, finiteness and range (libtorch reductions).</summary>
    internal static void Validate(Tensor? images, IReadOnlyList<string>? prompts, double rangeTolerance)
    {
        ValidateBatch(images, prompts);
        ValidateValues(images!, "images", rangeTolerance);
    }

    /// <summary>Validates everything but the pixel values: shape, dtype and prompt count.</summary>
    internal static void ValidateBatch(Tensor? images, IReadOnlyList<string>? prompts)
    {
        ValidateShapeAndType(images, "images");
        ArgumentNullException.ThrowIfNull(prompts);
        var batch = images!.shape[0];
        if (prompts.Count != batch)
            throw new ArgumentException(
                $"prompts has {prompts.Count} prompt(s) but images holds {batch} image(s); pass exactly one prompt per image " +
                $"(got {prompts.Count} prompts for a batch of {batch}).",
                nameof(prompts));
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

    /// <summary>
    /// Rejects NaN/infinity and values outside [-tolerance, 1 + tolerance], with libtorch reductions.
    /// The non-finite count, minimum and maximum are reduced on the images' device and read back
    /// together: one host read (one GPU synchronisation) per call instead of three.
    /// </summary>
    internal static void ValidateValues(Tensor images, string imagesName, double rangeTolerance)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = images.detach();
        // float64 holds every count below 2^53 exactly and every floating pixel value as it is.
        var summary = stack([
            values.isfinite().logical_not().sum().to(ScalarType.Float64),
            values.min().to(ScalarType.Float64),
            values.max().to(ScalarType.Float64)]).cpu().data<double>().ToArray();
        var nonFinite = (long)summary[0];
        if (nonFinite > 0)
            throw NonFinite(nonFinite, imagesName);
        double min = summary[1], max = summary[2];
        if (min < -rangeTolerance || max > 1 + rangeTolerance)
            throw OutOfRange(min, max, imagesName, rangeTolerance);
    }

    /// <summary>
    /// The same check as <see cref="ValidateValues(Tensor, string, double)"/> in one managed pass over
    /// float32 pixels; the bounds are the float32 values that compare exactly as the double bounds do.
    /// </summary>
    internal static void ValidateValues(ReadOnlySpan<float> pixels, string imagesName, double rangeTolerance)
    {
        var (lowest, highest) = Float32Bounds(rangeTolerance);
        var outside = false;
        foreach (var v in pixels)
        {
            // One comparison pair catches both out-of-range values and NaN (every comparison with NaN is false).
            if (v >= lowest && v <= highest) continue;
            outside = true;
            break;
        }
        if (!outside) return;

        long nonFinite = 0;
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in pixels)
        {
            if (!float.IsFinite(v)) nonFinite++;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (nonFinite > 0)
            throw NonFinite(nonFinite, imagesName);
        throw OutOfRange(min, max, imagesName, rangeTolerance);
    }

    /// <summary>Throws when a range tolerance is not a finite value in [0, <paramref name="maximum"/>].</summary>
    internal static double CheckTolerance(double rangeTolerance, string name, double maximum = 1)
    {
        if (!(rangeTolerance >= 0 && rangeTolerance <= maximum))
            throw new ArgumentOutOfRangeException(name, rangeTolerance,
                $"{name} is {rangeTolerance}; a range tolerance must lie in [0, {maximum:G4}].");
        return rangeTolerance;
    }

    /// <summary>
    /// The dtype rewards compute in: float64 stays float64 (gradient checks), every other floating
    /// type (float16, bfloat16, float32) is computed in float32 so statistics do not lose precision.
    /// </summary>
    internal static ScalarType ComputeType(Tensor images) =>
        images.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    // The smallest float32 >= -tolerance and the largest float32 <= 1 + tolerance, so that comparing a
    // float32 pixel with them gives exactly the double-precision comparison of the tensor path.
    private static (float Lowest, float Highest) Float32Bounds(double rangeTolerance)
    {
        var lowest = (float)-rangeTolerance;
        if (lowest < -rangeTolerance) lowest = MathF.BitIncrement(lowest);
        var highest = (float)(1 + rangeTolerance);
        if (highest > 1 + rangeTolerance) highest = MathF.BitDecrement(highest);
        return (lowest, highest);
    }

    private static ArgumentException NonFinite(long count, string imagesName) =>
        new($"{imagesName} hold {count} NaN or infinite value(s); expected finite values in [0, 1].", imagesName);

    private static ArgumentOutOfRangeException OutOfRange(double min, double max, string imagesName, double rangeTolerance) =>
        new(imagesName,
            $"{imagesName} has values in [{min:G6}, {max:G6}]; expected images in [0, 1] (tolerance {rangeTolerance:G3}). " +
            "Map [-1, 1] model outputs with (x + 1) / 2 and clamp, or divide 0-255 values by 255.");
}
