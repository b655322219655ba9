using TailorPO.Core.Abstractions;

namespace TailorPO.Rewards.Options;

/// <summary>
/// Builds the rewards of <see cref="RewardKind"/>s that TailorPO.Rewards does not build itself: the seam through which
/// another package adds kinds to <see cref="TailorPORewardsOptions"/>. TailorPO.RewardModels registers one for
/// <see cref="RewardKind.LaionAesthetic"/>, <see cref="RewardKind.ClipScore"/>, <see cref="RewardKind.HpsV2"/> and
/// <see cref="RewardKind.ImageReward"/> (<c>services.AddTailorPORewardModels()</c>). Register it in the container as
/// <see cref="IRewardKindFactory"/>; the options validator and the reward factory of <c>AddTailorPORewards</c> ask it
/// for the kinds it names, and refuse at start a kind no registered factory builds, naming the package that does.
/// </summary>
public interface IRewardKindFactory
{
    /// <summary>The kinds this factory builds. Two registered factories must not share a kind.</summary>
    IReadOnlyCollection<RewardKind> Kinds { get; }

    /// <summary>
    /// Adds to <paramref name="failures"/> every problem of <paramref name="member"/> (one of <see cref="Kinds"/>) that
    /// building it would meet (missing files, contradictory settings), each message starting with <paramref name="path"/>.
    /// Called when the host starts, before any reward is built.
    /// </summary>
    /// <param name="member">The member to check.</param>
    /// <param name="path">The member's path in the options, e.g. <c>TailorPORewardsOptions.Rewards[0]</c>.</param>
    /// <param name="failures">Where the problems go.</param>
    void Validate(RewardMemberOptions member, string path, ICollection<string> failures);

    /// <summary>Builds the reward of a validated <paramref name="member"/> (one of <see cref="Kinds"/>).</summary>
    /// <param name="services">The container, for the factory's own options.</param>
    /// <param name="member">The member to build.</param>
    /// <returns>The reward; the ensemble disposes it if it is <see cref="IDisposable"/>.</returns>
    IRewardModel Create(IServiceProvider services, RewardMemberOptions member);
}
