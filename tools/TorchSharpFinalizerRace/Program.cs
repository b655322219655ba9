// TorchSharp 0.107.0 passes the native handles of its finalizable objects to P/Invoke calls without keeping the objects
// alive (no GC.KeepAlive). A Scalar made for the call (Tensor.add(Tensor) makes alpha = 1 itself; x * 0.5 makes one by
// implicit conversion) or a Tensor temporary outside any dispose scope is unreachable once its handle is read, so a
// garbage collection that another thread triggers while the native call runs can queue it, and the finalizer thread can
// free it before libtorch reads it. Dispose scopes cannot help with Scalars: they are never registered in one.
//
// This program loops over a.add(a.mul(0.5)) on one thread while, with --collector, a second thread collects garbage
// in a loop, or with --allocator allocates short-lived garbage (collections come as they would in a busy host). On the
// bug it dies with libtorch's "Exception raised from toFloat at c10/core/Scalar.h" (the freed alpha) or a native fault;
// without it the loop ends and the program prints how many iterations ran. --gate holds TailorPO's FinalizerGate
// around every 100 iterations, as the trainer does around an iteration: the workaround under test.
//
//   dotnet run --project tools/TorchSharpFinalizerRace -c Release -- [--collector | --allocator] [--gate] [--scoped] [--seconds 30] [--size 256]
using System.Diagnostics;
using System.Globalization;
using TailorPO.Core.Threading;
using TorchSharp;
using static TorchSharp.torch;

var collectorOn = args.Contains("--collector");
var allocatorOn = args.Contains("--allocator");
var gated = args.Contains("--gate");
var scoped = args.Contains("--scoped");
var seconds = Option("--seconds", 30);
var size = Option("--size", 256);
torch.set_num_threads(1);

var stop = false;
var collector = new Thread(() =>
{
    while (!Volatile.Read(ref stop))
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}) { IsBackground = true, Name = "collector" };
if (collectorOn) collector.Start();
var allocator = new Thread(() =>
{
    var keep = new object[64];
    for (long i = 0; !Volatile.Read(ref stop); i++) keep[i % keep.Length] = new byte[256];
}) { IsBackground = true, Name = "allocator" };
if (allocatorOn) allocator.Start();

using var a = randn(size, size);
var clock = Stopwatch.StartNew();
long iterations = 0;
FinalizerGate.Holder? gate = null;
while (clock.Elapsed.TotalSeconds < seconds)
{
    if (gated && iterations % 100 == 0)
    {
        gate?.Dispose();
        gate = FinalizerGate.Close();
    }
    if (scoped)
    {
        using var scope = NewDisposeScope();
        _ = a.add(a.mul(0.5));
    }
    else
    {
        using var sum = a.add(a.mul(0.5)); // the product is a temporary outside any scope: only the finalizer frees it
    }
    iterations++;
}
gate?.Dispose();
Volatile.Write(ref stop, true);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"collector {(collectorOn ? "on" : "off")}, allocator {(allocatorOn ? "on" : "off")}, gate {(gated ? FinalizerGate.Enabled ? "on" : "asked for but switched off (TAILORPO_FINALIZER_GATE=0)" : "off")}, {(scoped ? "scoped" : "unscoped")}, " +
    $"{size}x{size}: {iterations} iterations in {clock.Elapsed.TotalSeconds:F0} s, {GC.CollectionCount(0)} collections, no crash"));
return 0;

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
