using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>Tensors a collect-then-train method keeps past the step that made them.</summary>
internal static class StoredTensor
{
    /// <summary>A detached copy that belongs to no dispose scope (the stored item disposes it).</summary>
    public static Tensor Keep(Tensor t) => t.detach().clone().DetachFromDisposeScope();
}
