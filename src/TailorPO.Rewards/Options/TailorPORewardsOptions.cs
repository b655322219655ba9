using TailorPO.Rewards.StepRewards;

namespace TailorPO.Rewards.Options;

/// <summary>
/// Configuration of <c>AddTailorPORewards</c>: which reward scores images (one member: that reward;
/// several, or one weighted/normalised: a <see cref="Ensemble.RewardEnsemble"/>) and which decoder the
/// step-reward estimator uses. Bind it from configuration (e.g. the section <see cref="SectionName"/>; members of
/// kind <see cref="RewardKind.Custom"/> and <see cref="RewardMemberOptions.Tokenize"/> are code-only) or set it in
/// <c>AddTailorPORewards(o =&gt; ...)</c>; it is validated when the host starts.
/// </summary>
public sealed class TailorPORewardsOptions
{
    /// <summary>The conventional configuration section name, <c>TailorPO:Rewards</c>.</summary>
    public const string SectionName = "TailorPO:Rewards";

    /// <summary>
    /// The reward(s). At least one, at least one with a non-zero weight. The paper optimises one reward
    /// at a time (aesthetic, ImageReward, HPSv2, PickScore or JPEG compressibility); several make an
    /// ensemble, its suggested remedy against reward hacking.
    /// </summary>
    public IList<RewardMemberOptions> Rewards { get; } = new List<RewardMemberOptions>();

    /// <summary>The ensemble's name in metrics. Default "ensemble".</summary>
    public string EnsembleName { get; set; } = "ensemble";

    /// <summary>
    /// True: the step-reward estimator decodes with <see cref="IdentityLatentDecoder"/> (pixel-space
    /// models, tests). False (default): it uses the <c>ILatentDecoder</c> registered in the container
    /// (the VAE decoder for Stable Diffusion).
    /// </summary>
    public bool UsePixelSpaceDecoder { get; set; }

    /// <summary>Value range of a pixel-space model's samples. Default [-1, 1].</summary>
    public PixelValueRange PixelSpaceRange { get; set; } = PixelValueRange.MinusOneToOne;

    /// <summary>Adds a member and returns these options (for chaining).</summary>
    public TailorPORewardsOptions Add(RewardKind kind, double weight = 1.0, Action<RewardMemberOptions>? configure = null)
    {
        var member = new RewardMemberOptions { Kind = kind, Weight = weight };
        configure?.Invoke(member);
        Rewards.Add(member);
        return this;
    }
}
