using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// The explicit opt-in for pickle checkpoints (<c>.bin</c>, <c>.ckpt</c>, <c>.pt</c>, <c>.pth</c>).
/// Unpickling can run arbitrary code, so this library ships no pickle reader and refuses such
/// files unless the caller supplies one through this interface (e.g. a loader that runs a
/// conversion script in a sandbox, or one for files the caller made and trusts).
/// </summary>
public interface IPickleCheckpointLoader
{
    /// <summary>Reads every tensor of the pickle checkpoint at <paramref name="path"/> (CPU tensors, state-dict names).</summary>
    IReadOnlyDictionary<string, Tensor> Load(string path);
}
