using System.Globalization;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Ensemble;

/// <summary>
/// Normalisation with a fixed, known (mean, std) - e.g. measured once on samples of the base
/// model: <c>(r - mean) / std</c>. Stateless, so every call of a run uses the same scale and the
/// normalised rewards of different calls are comparable.
/// </summary>
public sealed class FixedRewardNormalizer : IRewardNormalizer
{
    /// <summary>Creates the normaliser.</summary>
    /// <param name="mean">Subtracted from the raw reward; finite.</param>
    /// <param name="standardDeviation">Divides the centred reward; finite and &gt; 0.</param>
    public FixedRewardNormalizer(double mean, double standardDeviation)
    {
        if (!double.IsFinite(mean))
            throw new ArgumentOutOfRangeException(nameof(mean), mean, "The normalisation mean must be finite.");
        if (!double.IsFinite(standardDeviation) || standardDeviation <= 0)
            throw new ArgumentOutOfRangeException(nameof(standardDeviation), standardDeviation, "The normalisation standard deviation must be finite and > 0.");
        Mean = mean;
        StandardDeviation = standardDeviation;
    }

    /// <summary>The subtracted mean.</summary>
    public double Mean { get; }

    /// <summary>The dividing standard deviation.</summary>
    public double StandardDeviation { get; }

    /// <inheritdoc />
    public string Description => string.Create(CultureInfo.InvariantCulture, $"fixed(mean={Mean:G6}, std={StandardDeviation:G6})");

    /// <inheritdoc />
    public Tensor Normalize(Tensor raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        using var scope = NewDisposeScope();
        return ((raw - Mean) / StandardDeviation).MoveToOuterDisposeScope();
    }
}
