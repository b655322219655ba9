using TailorPO.Core.Errors;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Internal;

/// <summary>
/// Argument checks shared by the public tensor APIs. Every failure names the argument, what it
/// got and what was expected.
/// </summary>
internal static class TensorGuard
{
    public static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    public static void NotNull(Tensor? t, string name)
    {
        if (t is null) throw new ArgumentNullException(name);
        if (t.IsInvalid) throw new ArgumentException($"Argument '{name}' is a disposed tensor.", name);
    }

    public static void Floating(Tensor t, string name)
    {
        NotNull(t, name);
        if (!t.is_floating_point())
            throw new ArgumentException(
                $"Argument '{name}' has dtype {t.dtype}; expected a floating-point tensor (float32, float64, float16 or bfloat16).", name);
    }

    public static void Integral(Tensor t, string name)
    {
        NotNull(t, name);
        if (t.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"Argument '{name}' has dtype {t.dtype}; expected an integer tensor (int64).", name);
    }

    public static void Rank(Tensor t, int rank, string name, string meaning)
    {
        if (t.dim() != rank)
            throw new ArgumentException(
                $"Argument '{name}' has shape {Shape(t)} (rank {t.dim()}); expected rank {rank}: {meaning}.", name);
    }

    public static void SameShape(Tensor actual, string name, Tensor reference, string referenceName)
    {
        if (!actual.shape.SequenceEqual(reference.shape))
            throw new ArgumentException(
                $"Argument '{name}' has shape {Shape(actual)}; expected the shape of '{referenceName}', {Shape(reference)}.", name);
    }

    public static void SameDevice(Tensor actual, string name, Tensor reference, string referenceName)
    {
        if (actual.device.type != reference.device.type || actual.device.index != reference.device.index)
            throw new ArgumentException(
                $"Argument '{name}' is on {actual.device}; expected the device of '{referenceName}', {reference.device}.", name);
    }

    /// <summary>Throws <see cref="NonFiniteValueException"/> when any element is NaN or infinite.</summary>
    public static void Finite(Tensor t, string what) => NonFiniteValueException.ThrowIfNonFinite(t, what);

    public static void FiniteArgument(Tensor t, string name) => Finite(t, $"argument '{name}'");

    /// <summary>
    /// One finiteness check over several tensors: they are joined into one vector and checked with a single
    /// host read (or, inside a <see cref="DeferredFiniteChecks"/> batch, recorded as one check) instead of one
    /// read per tensor. Only on failure are the parts checked one by one, so the exception names the first
    /// non-finite part in argument order, as separate checks would.
    /// </summary>
    /// <remarks>
    /// Small-batch losses pay per kernel, not per element: three separate checks cost about as much as the loss
    /// itself. Joining is exact (<c>cat</c> promotes to the widest dtype, so nothing overflows on the way).
    /// In a deferred batch the parts are not told apart; the recorded name lists them all.
    /// </remarks>
    public static void AllFinite(params (Tensor Values, string What)[] parts) => AllFinite(null, parts);

    /// <summary>
    /// <see cref="AllFinite(ValueTuple{Tensor, string}[])"/> screened by <paramref name="screen"/>: a 0-d value the caller already
    /// has, or gets with fewer kernels than joining the parts, that is non-finite whenever some part is (a sum over
    /// them, say). It may also be non-finite when every part is finite (a sum can overflow); the parts then decide, so
    /// only a non-finite part ever throws. In a deferred batch the screen alone is recorded.
    /// </summary>
    public static void AllFinite(Tensor? screen, params (Tensor Values, string What)[] parts)
    {
        if (screen is not null)
        {
            if (DeferredFiniteChecks.Current is { } batch)
            {
                batch.Add(screen, string.Join(" or ", parts.Select(p => p.What)));
                return;
            }
            using (var finite = screen.isfinite())
                if (finite.item<bool>()) return;
            foreach (var (values, what) in parts) Finite(values, what);
            return;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var joined = cat(parts.Select(p => p.Values.dim() == 1 ? p.Values : p.Values.reshape(-1)).ToArray());
        if (DeferredFiniteChecks.Current is { } deferred)
        {
            deferred.Add(joined, string.Join(" or ", parts.Select(p => p.What)));
            return;
        }
        if (joined.isfinite().all().item<bool>()) return;
        foreach (var (values, what) in parts) Finite(values, what);
    }

    public static void Positive(double value, string name, string meaning)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"Argument '{name}' must be a finite number > 0 ({meaning}); got {value}.");
    }
}
