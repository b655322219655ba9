namespace TailorPO.Core.Threading;

/// <summary>
/// Holds back every finalizer of the process while TorchSharp work runs, as a workaround for a TorchSharp 0.107 bug.
/// TorchSharp passes the native handles of its finalizable objects to libtorch without keeping the objects alive: the
/// <c>Scalar</c> it makes inside <c>a + b</c> (alpha = 1) or for <c>x * 0.5</c>, or a tensor temporary outside a dispose
/// scope, is unreachable once its handle is read. A collection that any thread triggers while the native call runs
/// queues it, and the finalizer thread can free it before libtorch reads it: the process dies with libtorch's
/// "Exception raised from toFloat" or a native fault (docs/performance.md, "TorchSharp frees operands during native calls";
/// the canary is <c>FinalizerGateCanaryTests</c>).
/// <para>
/// While the gate is closed the finalizer thread is parked inside a finalizer of the gate's own: collections still
/// happen, but nothing they find is finalized until the gate opens, so no operand is freed during a native call of any
/// thread. The trainer closes it around each iteration, the pipelines and samplers around each denoising step; host code
/// driving TorchSharp itself can do the same. Closings nest and may come from several threads: the gate opens when the
/// last holder leaves. Keep each closing short (one step or iteration): what dies meanwhile waits for the finalizer, and
/// <see cref="GC.WaitForPendingFinalizers"/> on another thread waits for the gate to open.
/// </para>
/// </summary>
public static class FinalizerGate
{
    private static readonly object Sync = new();
    private static int _holders;
    private static ManualResetEventSlim? _open;
    [ThreadStatic] private static int t_held;

    // How long Close waits for the finalizer thread to park before going on unprotected.
    internal static TimeSpan ParkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether <see cref="Close"/> closes the gate (default true; the environment variable <c>TAILORPO_FINALIZER_GATE=0</c>
    /// starts it false). Turning it off brings the race back: for measuring what the gate costs, or a host that cannot
    /// have its finalizer thread parked.
    /// </summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("TAILORPO_FINALIZER_GATE") != "0";

    /// <summary>True while the calling thread holds the gate closed (it must not wait for pending finalizers then).</summary>
    public static bool IsHeldByCurrentThread => t_held > 0;

    /// <summary>True while any thread holds the gate closed.</summary>
    public static bool IsClosed
    {
        get
        {
            lock (Sync) return _holders > 0;
        }
    }

    /// <summary>
    /// Closings that went on unprotected because the finalizer thread did not park within <see cref="ParkTimeout"/>
    /// (a finalizer of someone else's blocking it); zero in a healthy process.
    /// </summary>
    public static int UnprotectedClosings { get; private set; }

    /// <summary>Closes the gate until the returned holder is disposed.</summary>
    /// <returns>The holder; dispose it on the thread that closed the gate.</returns>
    public static Holder Close()
    {
        if (!Enabled) return Holder.Inert;
        lock (Sync)
        {
            if (_holders == 0) Park();
            _holders++;
        }
        t_held++;
        return new Holder();
    }

    /// <summary>
    /// Lets go of the calling thread's closings until the returned scope is disposed, then takes them again: for calling
    /// code that may wait for finalizers (a progress callback that measures memory) from inside a closed stretch, where
    /// <see cref="GC.WaitForPendingFinalizers"/> would wait for this very thread. Nothing of this thread may be inside a
    /// native call meanwhile, which holds for a callback. Does nothing on a thread that holds no closing.
    /// </summary>
    /// <returns>The scope; dispose it on the same thread.</returns>
    public static IDisposable Suspend()
    {
        var held = t_held;
        if (held == 0) return Suspension.None;
        t_held = 0;
        lock (Sync)
        {
            _holders -= held;
            if (_holders == 0) Release();
        }
        return new Suspension(held);
    }

    private static void Open()
    {
        t_held--;
        lock (Sync)
        {
            if (--_holders == 0) Release();
        }
    }

    private static void Release()
    {
        _open!.Set();
        _open = null;
    }

    private static void Resume(int held)
    {
        lock (Sync)
        {
            if (_holders == 0) Park();
            _holders += held;
        }
        t_held += held;
    }

    // The finalizer thread runs finalizers one at a time: once it is inside the sentinel's, no other runs until the sentinel
    // returns. The sentinel is unreachable from birth, so a gen-0 collection queues it; what was queued before it runs first.
    private static void Park()
    {
        var open = new ManualResetEventSlim(false);
        var parked = new ManualResetEventSlim(false);
        Sentinel.Create(open, parked);
        _open = open;
        var deadline = DateTime.UtcNow + ParkTimeout;
        for (var attempt = 0; ; attempt++)
        {
            // Gen 0 first (the sentinel is new); a full collection if a collection promoted it meanwhile.
            GC.Collect(attempt == 0 ? 0 : GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            if (parked.Wait(TimeSpan.FromMilliseconds(attempt == 0 ? 200 : 1000))) return;
            if (DateTime.UtcNow > deadline)
            {
                UnprotectedClosings++;
                return;
            }
        }
    }

    /// <summary>Opens the gate (for this closing) when disposed; a second dispose does nothing.</summary>
    public sealed class Holder : IDisposable
    {
        // Returned while the gate is disabled: opens nothing.
        internal static readonly Holder Inert = new() { _disposed = 1 };
        private int _disposed;

        internal Holder()
        {
        }

        /// <inheritdoc />
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Open();
        }
    }

    private sealed class Suspension(int held) : IDisposable
    {
        public static readonly IDisposable None = new Suspension(0);
        private int _disposed;

        public void Dispose()
        {
            if (held > 0 && Interlocked.Exchange(ref _disposed, 1) == 0) Resume(held);
        }
    }

    private sealed class Sentinel
    {
        private readonly ManualResetEventSlim _open;
        private readonly ManualResetEventSlim _parked;

        private Sentinel(ManualResetEventSlim open, ManualResetEventSlim parked) => (_open, _parked) = (open, parked);

        // Not inlined, so no reference to the sentinel outlives this call in the caller's frame.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static void Create(ManualResetEventSlim open, ManualResetEventSlim parked) => _ = new Sentinel(open, parked);

        ~Sentinel()
        {
            _parked.Set();
            _open.Wait();
            _open.Dispose();
            _parked.Dispose();
        }
    }
}
