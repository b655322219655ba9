using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Errors;

/// <summary>
/// Collects the library's NaN/infinity checks of one unit of work (a training step) and runs them as ONE
/// host read at the end, instead of one device-to-host synchronisation per check. While a batch is
/// active on the current thread, <see cref="NonFiniteValueException.ThrowIfNonFinite"/> records the check
/// (a 0-d device tensor counting its NaN and infinite elements) and returns; <see cref="ThrowIfAnyNonFinite"/> reads
/// all of them at once. Outside a batch every check is immediate.
/// </summary>
/// <remarks>
/// On a GPU each <c>.item()</c> stalls the queue, and a trainer step checks dozens of tensors (every model call,
/// reward, decoder and loss). Deferring trades an early exception for one synchronisation: a NaN now
/// travels to the end of the step, where the trainer refuses to apply the update.
/// </remarks>
public sealed class DeferredFiniteChecks : IDisposable
{
    [ThreadStatic]
    private static DeferredFiniteChecks? t_current;

    private readonly DeferredFiniteChecks? _previous;
    private readonly List<(Tensor Counts, string What, long Elements)> _checks = [];
    private bool _disposed;

    private DeferredFiniteChecks()
    {
        _previous = t_current;
        t_current = this;
    }

    /// <summary>Starts deferring the checks of the current thread until the returned batch is disposed.</summary>
    public static DeferredFiniteChecks Begin() => new();

    /// <summary>The batch checks on this thread are deferred to, or null when checks are immediate.</summary>
    internal static DeferredFiniteChecks? Current => t_current;

    /// <summary>How many checks are pending.</summary>
    public int Count => _checks.Count;

    /// <summary>Records a check of <paramref name="values"/> (no host read).</summary>
    internal void Add(Tensor values, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var data = values.detach();
        var counts = data.isfinite().logical_not().sum().DetachFromDisposeScope(); // one count: fewer kernels per check
        _checks.Add((counts, what, data.numel()));
    }

    /// <summary>
    /// The number of NaN or infinite elements over every pending check, as a 0-d int64 tensor on the checks' device
    /// (no host read), so a caller can fuse it with its own once-per-step read. Zero when nothing is pending.
    /// </summary>
    /// <param name="device">The device of the result when nothing is pending.</param>
    public Tensor NonFiniteCount(Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_checks.Count == 0) return zeros([], ScalarType.Int64, device);
        var target = _checks[0].Counts.device;
        return stack(_checks.Select(c => c.Counts.to(target)).ToArray()).sum();
    }

    /// <summary>
    /// Reads every pending check in one device-to-host copy and clears them.
    /// </summary>
    /// <exception cref="NonFiniteValueException">Some checked tensor held NaN or infinity; names the first.</exception>
    public void ThrowIfAnyNonFinite()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_checks.Count == 0) return;
        long[] counts;
        using (var scope = NewDisposeScope())
            counts = stack(_checks.Select(c => c.Counts.to(_checks[0].Counts.device)).ToArray()).cpu().data<long>().ToArray();
        var pending = _checks.ToArray();
        Clear();
        for (var i = 0; i < pending.Length; i++)
            if (counts[i] > 0)
                throw new NonFiniteValueException(pending[i].What, $"{counts[i]} NaN or infinite of {pending[i].Elements} elements");
    }

    /// <summary>Stops deferring (pending checks are dropped: call <see cref="ThrowIfAnyNonFinite"/> first).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        Clear();
        if (ReferenceEquals(t_current, this)) t_current = _previous;
        _disposed = true;
    }

    private void Clear()
    {
        foreach (var check in _checks) check.Counts.Dispose();
        _checks.Clear();
    }
}
