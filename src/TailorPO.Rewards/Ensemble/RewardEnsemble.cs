using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Ensemble;

/// <summary>
/// A weighted sum of normalised rewards, <c>r = sum_i w_i * n_i(r_i)</c>: the remedy against reward
/// hacking the paper proposes (Appendix, after Coste et al. 2024) - a generator that exploits one
/// reward model's blind spot loses on the others. Each member's normaliser
/// (<see cref="FixedRewardNormalizer"/>, <see cref="RunningRewardNormalizer"/> or none) puts the
/// rewards on one scale first. Every evaluation records each member's raw and normalised values
/// (<see cref="ScoreWithBreakdown"/>, <see cref="LastBreakdown"/>).
/// </summary>
/// <remarks>
/// Differentiable iff every member with a non-zero weight is; zero-weight members are evaluated
/// without gradient, for the breakdown only. Non-differentiable members with a non-zero weight still
/// contribute their value (as a constant) when the images require grad.
/// </remarks>
public sealed class RewardEnsemble : IRewardModel, IStatefulComponent, IDisposable
{
    private readonly IReadOnlyList<IDisposable> _owned;
    private volatile RewardEnsembleBreakdown? _lastBreakdown;

    /// <summary>Creates the ensemble.</summary>
    /// <param name="members">At least one member, at least one with a non-zero weight.</param>
    /// <param name="name">The name in metrics; default "ensemble".</param>
    public RewardEnsemble(IEnumerable<RewardEnsembleMember> members, string name = "ensemble")
        : this(members, name, [])
    {
    }

    /// <summary>Creates an ensemble that disposes <paramref name="owned"/> (rewards it was built with) on <see cref="Dispose"/>.</summary>
    internal RewardEnsemble(IEnumerable<RewardEnsembleMember> members, string name, IReadOnlyList<IDisposable> owned)
    {
        _owned = owned;
        ArgumentNullException.ThrowIfNull(members);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var list = members.ToList();
        if (list.Count == 0)
            throw new ArgumentException("An ensemble needs at least one member.", nameof(members));
        if (list.Any(m => m is null))
            throw new ArgumentException("The ensemble members must not be null.", nameof(members));
        if (list.All(m => m.Weight == 0))
            throw new ArgumentException("Every ensemble member has weight 0; give at least one a non-zero weight.", nameof(members));
        Members = list;
        Name = name;
        IsDifferentiable = list.Where(m => m.Weight != 0).All(m => m.Reward.IsDifferentiable);
    }

    /// <summary>The members, in order.</summary>
    public IReadOnlyList<RewardEnsembleMember> Members { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public bool IsDifferentiable { get; }

    /// <summary>The breakdown of the most recent evaluation, or null before the first.</summary>
    public RewardEnsembleBreakdown? LastBreakdown => _lastBreakdown;

    /// <inheritdoc />
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts) => ScoreWithBreakdown(images, prompts).Total;

    /// <summary>Scores a batch and reports each member's raw and normalised values.</summary>
    /// <param name="images">RGB images in [0, 1], shape [B, 3, H, W].</param>
    /// <param name="prompts">The B prompts.</param>
    /// <exception cref="ArgumentException">Wrong shape, dtype or prompt count, or NaN pixels; <see cref="ArgumentOutOfRangeException"/> for pixels outside [0, 1] beyond <see cref="RewardModelBase.DefaultRangeTolerance"/>.</exception>
    /// <exception cref="NonFiniteValueException">A member returned NaN or infinity.</exception>
    public RewardEnsembleScore ScoreWithBreakdown(Tensor images, IReadOnlyList<string> prompts)
    {
        ImageBatchGuard.Validate(images, prompts, RewardModelBase.DefaultRangeTolerance);
        using var scope = NewDisposeScope();
        var computeType = ImageBatchGuard.ComputeType(images);
        var batch = images.shape[0];
        Tensor? total = null;
        var breakdowns = new List<RewardMemberBreakdown>(Members.Count);
        foreach (var member in Members)
        {
            Tensor raw, normalized;
            using (member.Weight == 0 ? no_grad() : null)
            {
                raw = member.Reward.Score(images, prompts).to(computeType);
                if (raw.dim() != 1 || raw.shape[0] != batch)
                    throw new InvalidOperationException(
                        $"Ensemble member '{member.Reward.Name}' returned shape [{string.Join(", ", raw.shape)}]; expected [{batch}].");
                NonFiniteValueException.ThrowIfNonFinite(raw, $"the raw reward of ensemble member '{member.Reward.Name}'");
                normalized = member.Normalizer.Normalize(raw);
                NonFiniteValueException.ThrowIfNonFinite(normalized, $"the normalised reward of ensemble member '{member.Reward.Name}' ({member.Normalizer.Description})");
            }
            breakdowns.Add(new RewardMemberBreakdown(member.Reward.Name, member.Weight, ToArray(raw), ToArray(normalized)));
            if (member.Weight != 0)
            {
                var weighted = normalized * member.Weight;
                total = total is null ? weighted : total + weighted;
            }
        }

        var breakdown = new RewardEnsembleBreakdown(breakdowns, ToArray(total!));
        _lastBreakdown = breakdown;
        return new RewardEnsembleScore(total!.MoveToOuterDisposeScope(), breakdown);
    }

    private static double[] ToArray(Tensor values)
    {
        using var noGrad = no_grad();
        return values.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Disposes the rewards the ensemble owns: those the DI registration built from options
    /// (model-based rewards). Rewards you pass in yourself stay yours.
    /// </summary>
    /// <inheritdoc />
    /// <remarks>The states of the members' stateful normalisers, keys prefixed with <c>{member index}/</c>.</remarks>
    public IReadOnlyDictionary<string, double[]> ExportState()
    {
        var state = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (var i = 0; i < Members.Count; i++)
            if (Members[i].Normalizer is IStatefulComponent stateful)
                foreach (var (key, value) in stateful.ExportState()) state[$"{i}/{key}"] = value;
        return state;
    }

    /// <inheritdoc />
    public void ImportState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        for (var i = 0; i < Members.Count; i++)
        {
            if (Members[i].Normalizer is not IStatefulComponent stateful) continue;
            var prefix = $"{i}/";
            stateful.ImportState(state.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Key[prefix.Length..], p => p.Value, StringComparer.Ordinal));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var owned in _owned)
            owned.Dispose();
    }
}
