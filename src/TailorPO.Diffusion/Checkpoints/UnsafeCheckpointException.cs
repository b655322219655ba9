using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// A checkpoint is in a pickle format (PyTorch <c>torch.save</c>: <c>.bin</c>/<c>.ckpt</c>/<c>.pt</c>/<c>.pth</c>,
/// a zip or pickle byte signature) and no <see cref="IPickleCheckpointLoader"/> was supplied.
/// The message says how to convert it to safetensors.
/// </summary>
public sealed class UnsafeCheckpointException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The refused file.</param>
    /// <param name="reason">Why it was recognised as pickle (extension or signature).</param>
    public UnsafeCheckpointException(string path, string reason)
        : base($"'{path}' is a pickle checkpoint ({reason}), which is refused because unpickling can run arbitrary code. " +
               "Convert it to safetensors once, in Python: `import torch; from safetensors.torch import save_file; " +
               $"save_file(torch.load('{Path.GetFileName(path)}', map_location='cpu', weights_only=True), '{Path.ChangeExtension(Path.GetFileName(path), ".safetensors")}')` " +
               "(for a diffusers folder: `DiffusionPipeline.from_pretrained(folder).save_pretrained(out, safe_serialization=True)`). " +
               "To load it anyway, pass an IPickleCheckpointLoader in CheckpointReadOptions.")
    {
        FilePath = path;
        Reason = reason;
    }

    /// <summary>The refused file.</summary>
    public string FilePath { get; }

    /// <summary>Why it was recognised as pickle.</summary>
    public string Reason { get; }
}
