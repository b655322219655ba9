using TailorPO.Core.Errors;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Validation;

/// <summary>Checks on reward outputs.</summary>
internal static class RewardChecks
{
    /// <summary>Throws <see cref="NonFiniteValueException"/> naming <paramref name="what"/> when any value is NaN or infinite.</summary>
    internal static void ThrowIfNonFinite(Tensor values, string what)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var detached = values.detach();
        var nan = detached.isnan().sum().item<long>();
        var inf = detached.isinf().sum().item<long>();
        if (nan + inf > 0)
            throw new NonFiniteValueException(what, $"{nan} NaN and {inf} infinite value(s) among {detached.numel()}");
    }
}
