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

    public static void Positive(double value, string name, string meaning)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"Argument '{name}' must be a finite number > 0 ({meaning}); got {value}.");
    }
}
