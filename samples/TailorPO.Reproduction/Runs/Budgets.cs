namespace TailorPO.Reproduction.Runs;

/// <summary>
/// The three budgets runs are compared at, each an image count per run (the trainer stops on images):
/// <list type="bullet">
/// <item><b>equal images</b>: <see cref="ComparisonSizing.Budget"/> final images for every method (one per completed
/// trajectory; D3PO and the different-inputs ablation spend two per prompt, Diffusion-DPO's offline set holds the budget's
/// images as pairs and each pair it trains on counts two).</item>
/// <item><b>equal updates</b>: every method makes as many optimizer updates as TailorPO at the image budget, Budget x
/// T_finetune / Batch. Every method makes T_finetune updates per batch of pairs or samples, so the rule multiplies the
/// image budget by <see cref="ComparisonRun.ImagesPerUpdateFactor"/> (2 for D3PO, Diffusion-DPO and the different-inputs
/// ablation); the trainer's own update count is recorded and shown next to it.</item>
/// <item><b>equal NFE</b>: every method spends as many model (UNet) evaluations as TailorPO (same input, same T_finetune)
/// at the image budget, measured by the runs' counting sampler. A method's image count is read off the line through its
/// first and last equal-images points (NFE is affine in images: Diffusion-DPO's offline set is the intercept), rounded
/// to <see cref="ComparisonSizing.Granularity"/>; when that point is already behind the run, the nearest evaluated point
/// is used. The page states the NFE each run actually spent.</item>
/// </list>
/// </summary>
public static class Budgets
{
    /// <summary>The equal-images evaluation points: Budget x k / Stages, k = 1..Stages.</summary>
    public static IReadOnlyList<int> EqualImagePoints(ComparisonSizing sizing)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        return Enumerable.Range(1, sizing.Stages).Select(k => sizing.Budget * k / sizing.Stages).ToList();
    }

    /// <summary>The image count at which <paramref name="run"/> has made TailorPO's update count at the image budget.</summary>
    public static int EqualUpdatesImages(ComparisonSizing sizing, ComparisonRun run)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        ArgumentNullException.ThrowIfNull(run);
        return sizing.Budget * run.ImagesPerUpdateFactor;
    }

    /// <summary>TailorPO's update count at the image budget (the equal-updates target).</summary>
    public static long TargetUpdates(ComparisonSizing sizing, int trainedSteps)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        return (long)sizing.Budget / sizing.Batch * trainedSteps;
    }

    /// <summary>
    /// The image count at which a run following the affine NFE line through (<paramref name="images1"/>,
    /// <paramref name="nfe1"/>) and (<paramref name="images2"/>, <paramref name="nfe2"/>) spends <paramref name="targetNfe"/>,
    /// rounded to the granularity (at least one granule). With one point (images1 = images2) the line goes through the origin.
    /// </summary>
    public static int EqualNfeImages(ComparisonSizing sizing, double targetNfe, long images1, long nfe1, long images2, long nfe2)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        var (x1, y1) = images1 == images2 ? (0.0, 0.0) : (images1, (double)nfe1);
        var slope = (nfe2 - y1) / (images2 - x1);
        if (!(slope > 0)) throw new InvalidOperationException($"The run's NFE does not grow with images ({nfe1} at {images1}, {nfe2} at {images2}).");
        var images = x1 + (targetNfe - y1) / slope;
        var g = sizing.Granularity;
        return Math.Max(g, (int)Math.Round(images / g) * g);
    }
}
