using static TorchSharp.torch;

namespace TailorPO.Rewards.Options;

/// <summary>
/// Configuration of <c>AddTailorPORewardModels</c>, which lets <see cref="TailorPORewardsOptions"/> build the learned
/// kinds (<see cref="RewardKind.LaionAesthetic"/>, <see cref="RewardKind.ClipScore"/>, <see cref="RewardKind.HpsV2"/>,
/// <see cref="RewardKind.ImageReward"/>): where their weights live unless a member says otherwise. Each learned
/// member's model files are set on the member itself (<see cref="RewardMemberOptions.ModelPath"/> and its siblings).
/// Bind it from configuration (e.g. the section <see cref="SectionName"/>) or set it in
/// <c>AddTailorPORewardModels(o =&gt; ...)</c>; it is validated at start.
/// </summary>
public sealed class TailorPORewardModelsOptions
{
    /// <summary>The conventional configuration section name, <c>TailorPO:RewardModels</c>.</summary>
    public const string SectionName = "TailorPO:RewardModels";

    /// <summary>
    /// Weight dtype of every learned reward whose <see cref="RewardMemberOptions.ModelDType"/> is null: Float32,
    /// Float16, BFloat16 or Float64; null (default) keeps float32. Float16/BFloat16 halve GPU memory.
    /// </summary>
    public ScalarType? ModelDType { get; set; }

    /// <summary>
    /// Device of every learned reward whose <see cref="RewardMemberOptions.ModelDevice"/> is null, e.g. <c>"cuda:0"</c>;
    /// null (default) keeps the CPU.
    /// </summary>
    public string? ModelDevice { get; set; }
}
