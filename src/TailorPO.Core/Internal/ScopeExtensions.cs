using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Internal;

internal static class ScopeExtensions
{
    /// <summary>
    /// Moves a result out of <paramref name="scope"/> only when that scope owns it: a tensor the
    /// caller supplied (or a predictor returned from its own cache) stays where it is.
    /// </summary>
    public static Tensor ReturnFrom(this Tensor tensor, DisposeScope scope) =>
        scope.Contains(tensor) ? scope.MoveToOuter(tensor) : tensor;
}
