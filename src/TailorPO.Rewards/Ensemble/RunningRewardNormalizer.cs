using System.Globalization;
using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Ensemble;

/// <summary>
/// Normalisation by running statistics: <c>(r - mean) / (std + eps)</c>, where mean and std (the
/// population standard deviation) cover EVERY raw value this normaliser has seen, including the
/// current call's (they are merged in first, exactly, with Chan et al.'s parallel update, so the
/// first batch is already centred). While fewer than two values have been seen std is taken as 1.
/// </summary>
/// <remarks>
/// The statistics move with every call, so normalised values of different calls are on slightly
/// different scales; compare candidates scored in ONE call (the step-reward estimator and the
/// guidance refiner do). Set <see cref="IsFrozen"/> to stop updating (evaluation, gradient checks)
/// or use <see cref="FixedRewardNormalizer"/> when the scale is known. Thread-safe.
/// </remarks>
public sealed class RunningRewardNormalizer : IRewardNormalizer, IStatefulComponent
{
    private readonly object _gate = new();
    private long _count;
    private double _mean;
    private double _sumOfSquares;

    /// <summary>Creates the normaliser with no observations.</summary>
    /// <param name="epsilon">Added to the standard deviation; finite and &gt; 0, default 1e-6 (as DDPO's advantage normalisation).</param>
    public RunningRewardNormalizer(double epsilon = 1e-6)
    {
        if (!double.IsFinite(epsilon) || epsilon <= 0)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and > 0 (it keeps constant rewards from dividing by zero).");
        Epsilon = epsilon;
    }

    /// <summary>Added to the standard deviation.</summary>
    public double Epsilon { get; }

    /// <summary>When true, <see cref="Normalize"/> uses the statistics as they are and records nothing.</summary>
    public bool IsFrozen { get; set; }

    /// <summary>How many raw values have been observed.</summary>
    public long Count { get { lock (_gate) return _count; } }

    /// <summary>The running mean (0 before any observation).</summary>
    public double Mean { get { lock (_gate) return _mean; } }

    /// <summary>The running population standard deviation, or 1 while fewer than two values were seen.</summary>
    public double StandardDeviation { get { lock (_gate) return CurrentStandardDeviation(); } }

    /// <inheritdoc />
    public string Description =>
        string.Create(CultureInfo.InvariantCulture, $"running(count={Count}, mean={Mean:G6}, std={StandardDeviation:G6}{(IsFrozen ? ", frozen" : "")})");

    /// <summary>Adds raw values to the statistics without normalising them.</summary>
    public void Observe(Tensor raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        double[] values;
        using (no_grad())
        using (var scope = NewDisposeScope())
            values = raw.detach().to(ScalarType.Float64).cpu().flatten().data<double>().ToArray();
        if (values.Length == 0)
            return;
        if (values.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("raw holds NaN or infinite rewards; running statistics accept finite values only.", nameof(raw));

        var batchMean = values.Average();
        var batchSumOfSquares = values.Sum(v => (v - batchMean) * (v - batchMean));
        lock (_gate)
        {
            var total = _count + values.Length;
            var delta = batchMean - _mean;
            _mean += delta * values.Length / total;
            _sumOfSquares += batchSumOfSquares + delta * delta * _count * values.Length / total;
            _count = total;
        }
    }

    /// <summary>Forgets every observation.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _count = 0;
            _mean = 0;
            _sumOfSquares = 0;
        }
    }

    /// <inheritdoc />
    public Tensor Normalize(Tensor raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (!IsFrozen)
            Observe(raw);
        double mean, std;
        lock (_gate)
        {
            mean = _mean;
            std = CurrentStandardDeviation();
        }
        using var scope = NewDisposeScope();
        return ((raw - mean) / (std + Epsilon)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <remarks>Keys <c>count</c>, <c>mean</c> and <c>sum_of_squares</c>, one value each (the frozen flag is configuration, not state).</remarks>
    public IReadOnlyDictionary<string, double[]> ExportState()
    {
        lock (_gate)
            return new Dictionary<string, double[]>(StringComparer.Ordinal) { ["count"] = [_count], ["mean"] = [_mean], ["sum_of_squares"] = [_sumOfSquares] };
    }

    /// <inheritdoc />
    public void ImportState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        double Single(string key) => state.TryGetValue(key, out var v) && v.Length == 1 && double.IsFinite(v[0])
            ? v[0]
            : throw new InvalidDataException($"Running normaliser state: '{key}' must hold one finite value.");
        var (count, mean, sumOfSquares) = (Single("count"), Single("mean"), Single("sum_of_squares"));
        if (count < 0 || count != Math.Floor(count) || sumOfSquares < 0)
            throw new InvalidDataException($"Running normaliser state: count {count} must be a whole number >= 0 and sum_of_squares {sumOfSquares} >= 0.");
        lock (_gate) (_count, _mean, _sumOfSquares) = ((long)count, mean, sumOfSquares);
    }

    private double CurrentStandardDeviation() => _count < 2 ? 1.0 : Math.Sqrt(_sumOfSquares / _count);
}
