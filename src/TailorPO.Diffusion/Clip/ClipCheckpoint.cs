using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>Which keys of a transformers CLIP file a tower does not own.</summary>
internal static class ClipCheckpoint
{
    /// <summary>
    /// True for keys a transformers CLIP file may carry that a single tower does not own:
    /// the non-persistent <c>position_ids</c> buffers, and in a full CLIPModel file the other
    /// tower, its projection and <c>logit_scale</c>.
    /// </summary>
    public static bool IsForeignToText(string key, bool withProjection) =>
        key is "text_model.embeddings.position_ids" or "vision_model.embeddings.position_ids" or "logit_scale"
        || key.StartsWith("vision_model.", StringComparison.Ordinal)
        || key.StartsWith("visual_projection.", StringComparison.Ordinal)
        || (!withProjection && key.StartsWith("text_projection.", StringComparison.Ordinal));

    /// <summary>The vision tower's counterpart of <see cref="IsForeignToText"/>.</summary>
    public static bool IsForeignToVision(string key) =>
        key is "text_model.embeddings.position_ids" or "vision_model.embeddings.position_ids" or "logit_scale"
        || key.StartsWith("text_model.", StringComparison.Ordinal)
        || key.StartsWith("text_projection.", StringComparison.Ordinal);
}
