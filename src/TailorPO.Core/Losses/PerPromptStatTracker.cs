using TailorPO.Core.Errors;
using TailorPO.Core.Internal;
using static TorchSharp.torch;

namespace TailorPO.Core.Losses;

/// <summary>
/// DDPO's per-prompt reward normalisation (kvablack/ddpo-pytorch <c>PerPromptStatTracker</c>): each
/// prompt keeps a rolling buffer of its last rewards (persisting across epochs); a reward's advantage is
/// (r - mean) / (std + 1e-6) over its prompt's buffer, or over the whole current batch while the buffer
/// holds fewer than the minimum count. std is the population standard deviation (numpy's default).
/// Finite rewards always give finite advantages: the statistics are computed in float64 exactly as
/// numpy does, and only when that overflows (rewards near ±1.8e308, whose sum or squares exceed the
/// float64 range) they are recomputed on the rewards divided by their largest magnitude s, which is the
/// same quotient (r - mean) / (std + eps) = (r/s - mean/s) / (std/s + eps/s) without the overflow; a
/// quotient that is itself beyond the float64 range (possible only for a reward outside its prompt's
/// buffer) is clamped to ±double.MaxValue, keeping its sign (the DDPO objective clamps to ±5).
/// A NaN or infinite reward is refused with <see cref="NonFiniteValueException"/>.
/// Not thread-safe: one tracker per training run.
/// </summary>
public sealed class PerPromptStatTracker
{
    /// <summary>The epsilon added to the standard deviation (ddpo-pytorch: 1e-6).</summary>
    public const double StdEpsilon = 1e-6;

    private readonly Dictionary<string, Queue<double>> _buffers = new(StringComparer.Ordinal);

    /// <summary>Creates an empty tracker.</summary>
    /// <param name="bufferSize">Rewards remembered per prompt (ddpo-pytorch: 16).</param>
    /// <param name="minCount">Per-prompt statistics are used once a prompt has this many rewards (ddpo-pytorch: 16).</param>
    public PerPromptStatTracker(int bufferSize = 16, int minCount = 16)
    {
        if (bufferSize < 1)
            throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, $"Argument 'bufferSize' must be >= 1; got {bufferSize}.");
        if (minCount < 1 || minCount > bufferSize)
            throw new ArgumentOutOfRangeException(nameof(minCount), minCount,
                $"Argument 'minCount' must lie in [1, bufferSize = {bufferSize}] (otherwise per-prompt statistics are never used); got {minCount}.");
        BufferSize = bufferSize;
        MinCount = minCount;
    }

    /// <summary>Rewards remembered per prompt.</summary>
    public int BufferSize { get; }

    /// <summary>Minimum remembered rewards before a prompt's own statistics are used.</summary>
    public int MinCount { get; }

    /// <summary>Adds a batch of rewards and returns their advantages (not clamped; the objective clamps).</summary>
    /// <param name="prompts">The prompt of each sample.</param>
    /// <param name="rewards">The reward of each sample (finite).</param>
    /// <returns>One advantage per sample, in input order; finite for finite rewards.</returns>
    /// <exception cref="NonFiniteValueException">A reward is NaN or infinite.</exception>
    public double[] Update(IReadOnlyList<string> prompts, IReadOnlyList<double> rewards)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(rewards);
        if (prompts.Count != rewards.Count)
            throw new ArgumentException($"Argument 'prompts' has {prompts.Count} entries but 'rewards' has {rewards.Count}; expected one prompt per reward.", nameof(prompts));
        if (rewards.Count == 0)
            throw new ArgumentException("Argument 'rewards' is empty.", nameof(rewards));
        for (var i = 0; i < rewards.Count; i++)
        {
            if (!double.IsFinite(rewards[i]))
                throw new NonFiniteValueException("argument 'rewards'", $"element {i} is {rewards[i]}");
            if (prompts[i] is null)
                throw new ArgumentException($"Argument 'prompts' has a null entry at {i}.", nameof(prompts));
        }

        var advantages = new double[rewards.Count];
        foreach (var group in Enumerable.Range(0, rewards.Count).GroupBy(i => prompts[i], StringComparer.Ordinal))
        {
            if (!_buffers.TryGetValue(group.Key, out var buffer))
                _buffers[group.Key] = buffer = new Queue<double>(BufferSize);
            foreach (var i in group)
            {
                if (buffer.Count == BufferSize) buffer.Dequeue();
                buffer.Enqueue(rewards[i]);
            }

            IReadOnlyList<double> statistics = buffer.Count < MinCount ? rewards : buffer.ToArray();
            foreach (var i in group)
                advantages[i] = Normalize(rewards[i], statistics, StdEpsilon);
        }
        return advantages;
    }

    /// <summary>Tensor form of <see cref="Update(IReadOnlyList{string}, IReadOnlyList{double})"/>.</summary>
    /// <param name="prompts">The prompt of each sample.</param>
    /// <param name="rewards">Rewards, [B].</param>
    /// <returns>Advantages, [B], in the rewards' dtype and device.</returns>
    public Tensor UpdateFromTensor(IReadOnlyList<string> prompts, Tensor rewards)
    {
        TensorGuard.Floating(rewards, nameof(rewards));
        TensorGuard.Rank(rewards, 1, nameof(rewards), "one reward per sample, [B]");
        var host = rewards.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var advantages = Update(prompts, host);
        return tensor(advantages, ScalarType.Float64).to(rewards.dtype, rewards.device);
    }

    /// <summary>(mean, population std, count) of each prompt's remembered rewards.</summary>
    public IReadOnlyDictionary<string, (double Mean, double Std, int Count)> Statistics() =>
        _buffers.ToDictionary(kv => kv.Key, kv =>
        {
            var (mean, std) = MeanStd(kv.Value.ToArray());
            return (mean, std, kv.Value.Count);
        }, StringComparer.Ordinal);

    /// <summary>A copy of every prompt's buffer, oldest first (for checkpoints and bit-identical resume).</summary>
    public IReadOnlyDictionary<string, double[]> ExportState() =>
        _buffers.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);

    /// <summary>Replaces the buffers with a state from <see cref="ExportState"/> (each keeps its newest <see cref="BufferSize"/> rewards).</summary>
    /// <exception cref="NonFiniteValueException">A remembered reward is NaN or infinite (a damaged checkpoint); nothing is replaced.</exception>
    public void ImportState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var (prompt, values) in state)
        {
            ArgumentNullException.ThrowIfNull(values, nameof(state));
            for (var i = 0; i < values.Length; i++)
                if (!double.IsFinite(values[i]))
                    throw new NonFiniteValueException("argument 'state'", $"reward {i} remembered for prompt '{prompt}' is {values[i]}");
        }
        _buffers.Clear();
        foreach (var (prompt, values) in state)
            _buffers[prompt] = new Queue<double>(values.Skip(Math.Max(0, values.Length - BufferSize)));
    }

    /// <summary>
    /// ddpo-pytorch's normalisation without per-prompt tracking: (r - mean) / (std + 1e-8) over the batch.
    /// Finite rewards give finite advantages (see the class remarks on overflow).
    /// </summary>
    /// <exception cref="NonFiniteValueException">A reward is NaN or infinite.</exception>
    public static double[] BatchAdvantages(IReadOnlyList<double> rewards)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        if (rewards.Count == 0) throw new ArgumentException("Argument 'rewards' is empty.", nameof(rewards));
        for (var i = 0; i < rewards.Count; i++)
        {
            if (!double.IsFinite(rewards[i]))
                throw new NonFiniteValueException("argument 'rewards'", $"element {i} is {rewards[i]}");
        }
        return rewards.Select(r => Normalize(r, rewards, 1e-8)).ToArray();
    }

    /// <summary>
    /// (r - mean) / (std + eps) over <paramref name="values"/>. Computed as numpy does; when that overflows,
    /// recomputed on everything divided by s = max(|r|, max|value|) (the same quotient, see the class
    /// remarks). When r is among the values that is bounded by about sqrt(n); when it is not (a prompt seen
    /// more often in one batch than its buffer holds) the exact quotient can exceed the float64 range, and
    /// is then clamped to ±<see cref="double.MaxValue"/> - the DDPO objective clamps advantages to ±5 anyway.
    /// </summary>
    private static double Normalize(double r, IReadOnlyList<double> values, double eps)
    {
        var (mean, std) = MeanStd(values, 1.0);
        var plain = (r - mean) / (std + eps);
        if (double.IsFinite(plain)) return plain;
        var scale = Math.Max(Math.Abs(r), values.Max(Math.Abs));
        var (scaledMean, scaledStd) = MeanStd(values, scale);
        var numerator = r / scale - scaledMean;
        var scaled = numerator / (scaledStd + eps / scale);
        return double.IsFinite(scaled) ? scaled : Math.Sign(numerator) * double.MaxValue;
    }

    private static (double Mean, double Std) MeanStd(IReadOnlyCollection<double> values) => MeanStd(values, 1.0);

    private static (double Mean, double Std) MeanStd(IReadOnlyCollection<double> values, double scale)
    {
        var mean = values.Sum(v => v / scale) / values.Count;
        var variance = values.Sum(v => (v / scale - mean) * (v / scale - mean)) / values.Count;
        return (mean, Math.Sqrt(variance));
    }
}
