using static TorchSharp.torch;

namespace TailorPO.Core.Errors;

/// <summary>
/// A tensor that must be finite holds NaN or infinity (a loss, a log-ratio, a reward). Raised
/// instead of letting a NaN propagate silently into the weights.
/// </summary>
public sealed class NonFiniteValueException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="what">What held the value, e.g. "the D3PO loss" or "argument 'logRatio'".</param>
    /// <param name="detail">Counts or values that help, e.g. "3 of 8 elements are NaN".</param>
    public NonFiniteValueException(string what, string detail)
        : base($"{what} is not finite: {detail}. Check the learning rate, eta (> 0) and the inputs for NaN.")
    {
        What = what;
    }

    /// <summary>What held the non-finite value.</summary>
    public string What { get; }

    /// <summary>
    /// Throws when any element of <paramref name="values"/> is NaN or infinite, counting both in the
    /// message. Reads the values without gradient; frees every temporary it makes. Inside a
    /// <see cref="DeferredFiniteChecks"/> batch the check is recorded instead and runs with the batch's
    /// single host read.
    /// </summary>
    /// <param name="values">The tensor to check (any shape, floating point).</param>
    /// <param name="what">What it holds, e.g. "the D3PO loss" or "the reward-guidance gradient".</param>
    /// <exception cref="NonFiniteValueException">Some element is NaN or infinite.</exception>
    public static void ThrowIfNonFinite(Tensor values, string what)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (DeferredFiniteChecks.Current is { } deferred)
        {
            deferred.Add(values, what);
            return;
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var data = values.detach();
        if (data.isfinite().all().item<bool>()) return;
        var nan = data.isnan().sum().item<long>();
        var inf = data.isinf().sum().item<long>();
        throw new NonFiniteValueException(what, $"{nan} NaN and {inf} infinite of {data.numel()} elements");
    }

    /// <summary>
    /// One finiteness check for several tensors with a single host read: the per-tensor "all finite"
    /// flags are reduced on the tensors' device and read once, so a trainer can check everything a
    /// step produced (noise predictions, decoded images, rewards, log-ratios, the loss) for the
    /// price of one synchronisation instead of one per call. Only when something is not finite does
    /// it read more, to throw the same exception as <see cref="ThrowIfNonFinite"/> for the first
    /// offending tensor in argument order.
    /// </summary>
    /// <param name="checks">The tensors and what each holds; null tensors are skipped. All non-null
    /// tensors must be on one device.</param>
    /// <exception cref="NonFiniteValueException">Some element of some tensor is NaN or infinite.</exception>
    /// <exception cref="ArgumentException">The tensors live on different devices.</exception>
    public static void ThrowIfAnyNonFinite(params (Tensor? Values, string What)[] checks)
    {
        ArgumentNullException.ThrowIfNull(checks);
        var present = checks.Where(c => c.Values is not null).ToArray();
        if (present.Length == 0) return;
        var device = present[0].Values!.device;
        foreach (var (values, what) in present)
        {
            if (values!.device.type != device.type || values.device.index != device.index)
                throw new ArgumentException($"'{what}' is on {values.device} but '{present[0].What}' is on {device}; check tensors of one device at a time.", nameof(checks));
        }

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var flags = stack(present.Select(c => c.Values!.detach().isfinite().all()).ToArray());
            if (flags.all().item<bool>()) return;
        }
        foreach (var (values, what) in present)
            ThrowIfNonFinite(values!, what);
    }
}
