namespace TailorPO.Rewards.Options;

/// <summary>
/// The rewards <see cref="TailorPORewardsOptions"/> can build. TailorPO.Rewards builds the analytic, JPEG and custom
/// kinds; the learned kinds (<see cref="LaionAesthetic"/>, <see cref="ClipScore"/>, <see cref="HpsV2"/>,
/// <see cref="ImageReward"/>) need the TailorPO.RewardModels package and <c>services.AddTailorPORewardModels()</c>,
/// which registers their <see cref="IRewardKindFactory"/>.
/// </summary>
public enum RewardKind
{
    /// <summary><see cref="Analytic.ColorfulnessReward"/> (Hasler and Suesstrunk), differentiable.</summary>
    Colorfulness,

    /// <summary><see cref="Analytic.SaturationReward"/> (mean HSV saturation), differentiable.</summary>
    Saturation,

    /// <summary><see cref="Analytic.BrightnessTargetReward"/>, differentiable.</summary>
    BrightnessTarget,

    /// <summary><see cref="Analytic.ContrastTargetReward"/>, differentiable.</summary>
    ContrastTarget,

    /// <summary>
    /// <c>LaionAestheticScorer</c> (the paper's "aesthetic" reward), differentiable: needs
    /// <see cref="RewardMemberOptions.ModelPath"/> (CLIP ViT-L/14 folder) and <see cref="RewardMemberOptions.AestheticHeadPath"/>.
    /// </summary>
    LaionAesthetic,

    /// <summary>
    /// <c>ClipScoreReward</c> (PickScore-style), differentiable: needs <see cref="RewardMemberOptions.ModelPath"/>
    /// (a CLIPModel folder, e.g. PickScore_v1) and a tokenizer: <see cref="RewardMemberOptions.TokenizerPath"/>
    /// (a CLIP tokenizer folder) or <see cref="RewardMemberOptions.Tokenize"/>.
    /// </summary>
    ClipScore,

    /// <summary>A reward of your own, built by <see cref="RewardMemberOptions.Factory"/>.</summary>
    Custom,

    /// <summary>
    /// <see cref="Jpeg.JpegCompressibilityReward"/> (DDPO's and the paper's "JPEG compressibility": minus the
    /// JPEG size in kB), not differentiable; quality from <see cref="RewardMemberOptions.JpegQuality"/>.
    /// </summary>
    JpegCompressibility,

    /// <summary>
    /// <see cref="Jpeg.JpegIncompressibilityReward"/> (plus the JPEG size in kB), not differentiable; quality
    /// from <see cref="RewardMemberOptions.JpegQuality"/>.
    /// </summary>
    JpegIncompressibility,

    /// <summary>
    /// <c>HpsV2Reward</c> (HPSv2 / HPSv2.1: cosine of open_clip image and text features), differentiable:
    /// needs <see cref="RewardMemberOptions.ModelPath"/>, a folder with <c>open_clip_config.json</c>,
    /// <c>model.safetensors</c> and a CLIP tokenizer (<c>tokenizer/</c> or <c>bpe_simple_vocab_16e6.txt.gz</c>).
    /// </summary>
    HpsV2,

    /// <summary>
    /// <c>ImageRewardScorer</c> (ImageReward: BLIP ViT + BERT cross-attention + MLP, z-normalised),
    /// differentiable: needs <see cref="RewardMemberOptions.ModelPath"/>, a folder with <c>med_config.json</c>,
    /// <c>imagereward_config.json</c>, <c>model.safetensors</c> and <c>tokenizer/vocab.txt</c>.
    /// </summary>
    ImageReward,
}
