using System.Runtime.CompilerServices;
using TailorPO.Core.Threading;

namespace TailorPO.Core.Tests.Threading;

/// <summary>
/// <see cref="FinalizerGate"/>: no finalizer runs while any holder keeps it closed, every finalizer held back runs once
/// the last holder leaves. Other tests close the gate too (every denoising step does), so these tests only assert what
/// holds whatever the rest of the process does: their own probe is not finalized while they hold the gate.
/// </summary>
public class FinalizerGateTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Eventually = TimeSpan.FromSeconds(60);

    [Fact]
    public void No_finalizer_runs_while_the_gate_is_closed_and_the_held_back_ones_run_when_it_opens()
    {
        var finalized = new ManualResetEventSlim();
        using (FinalizerGate.Close())
        {
            Assert.True(FinalizerGate.IsHeldByCurrentThread);
            Assert.True(FinalizerGate.IsClosed);
            Probe.Drop(finalized);
            GC.Collect();
            Assert.False(finalized.Wait(Settle), "a finalizer ran while the gate was closed");
        }
        Assert.False(FinalizerGate.IsHeldByCurrentThread);
        Assert.True(finalized.Wait(Eventually), "the held-back finalizer did not run after the gate opened");
    }

    [Fact]
    public void The_control_without_the_gate_finalizes_the_same_probe()
    {
        var finalized = new ManualResetEventSlim();
        Probe.Drop(finalized);
        GC.Collect();
        Assert.True(finalized.Wait(Eventually));
    }

    [Fact]
    public void Closings_nest_and_a_second_dispose_of_a_holder_does_not_open_another_holders_closing()
    {
        var finalized = new ManualResetEventSlim();
        var outer = FinalizerGate.Close();
        var inner = FinalizerGate.Close();
        Probe.Drop(finalized);
        GC.Collect();
        inner.Dispose();
        inner.Dispose();
        Assert.True(FinalizerGate.IsHeldByCurrentThread);
        GC.Collect();
        Assert.False(finalized.Wait(Settle), "the outer closing was opened by the inner holder");
        outer.Dispose();
        Assert.False(FinalizerGate.IsHeldByCurrentThread);
        Assert.True(finalized.Wait(Eventually));
    }

    [Fact]
    public void The_gate_opens_only_when_the_last_of_several_threads_leaves()
    {
        var finalized = new ManualResetEventSlim();
        using var otherClosed = new ManualResetEventSlim();
        using var otherMayLeave = new ManualResetEventSlim();
        var other = new Thread(() =>
        {
            using (FinalizerGate.Close())
            {
                otherClosed.Set();
                otherMayLeave.Wait();
            }
        });
        other.Start();
        otherClosed.Wait();
        using (FinalizerGate.Close())
        {
            Probe.Drop(finalized);
            GC.Collect();
        }
        // This thread left; the other still holds the gate.
        Assert.False(FinalizerGate.IsHeldByCurrentThread);
        GC.Collect();
        Assert.False(finalized.Wait(Settle), "the gate opened while another thread held it");
        otherMayLeave.Set();
        other.Join();
        Assert.True(finalized.Wait(Eventually));
        Assert.Equal(0, FinalizerGate.UnprotectedClosings);
    }

    [Fact]
    public void A_suspension_lets_the_holding_thread_wait_for_finalizers_and_closes_the_gate_again()
    {
        var finalized = new ManualResetEventSlim();
        using (FinalizerGate.Close())
        {
            Probe.Drop(finalized);
            GC.Collect();
            using (FinalizerGate.Suspend())
            {
                Assert.False(FinalizerGate.IsHeldByCurrentThread);
                // Would wait for this very thread forever if its closing still held the finalizer thread.
                GC.WaitForPendingFinalizers();
                Assert.True(finalized.Wait(Eventually));
            }
            Assert.True(FinalizerGate.IsHeldByCurrentThread);
            var later = new ManualResetEventSlim();
            Probe.Drop(later);
            GC.Collect();
            Assert.False(later.Wait(Settle), "the gate did not close again after the suspension");
        }
    }

    private sealed class Probe(ManualResetEventSlim finalized)
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Drop(ManualResetEventSlim finalized) => _ = new Probe(finalized);

        ~Probe() => finalized.Set();
    }
}
