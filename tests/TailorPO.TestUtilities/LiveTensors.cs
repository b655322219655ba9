using Xunit;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities;

/// <summary>
/// Flat-memory checks on the thread's live tensor count (TorchSharp's
/// <c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>: tensors created on this thread and not yet
/// disposed). Run the calls under test with NO dispose scope around them and dispose only what they
/// return: a temporary that escaped a call then stays alive and is counted.
/// </summary>
public static class LiveTensors
{
    /// <summary>
    /// Runs <paramref name="iterate"/> once (warm-up), then <paramref name="iterations"/> more times, and
    /// asserts that the live tensor count is where it was after the warm-up.
    /// </summary>
    /// <param name="iterations">How many measured iterations (e.g. 200).</param>
    /// <param name="iterate">One iteration; receives its index (0 for the warm-up).</param>
    public static void AssertUnchanged(int iterations, Action<int> iterate)
    {
        iterate(0);
        var statistics = TorchSharp.DisposeScopeManager.Statistics;
        var before = statistics.ThreadTotalLiveCount;
        for (var i = 1; i <= iterations; i++)
            iterate(i);
        Assert.True(before == statistics.ThreadTotalLiveCount,
            $"{statistics.ThreadTotalLiveCount - before} tensors outlived {iterations} iterations ({statistics}).");
    }

    /// <summary>Disposes every non-null tensor given.</summary>
    public static void DisposeAll(params Tensor?[] tensors)
    {
        foreach (var tensor in tensors)
            tensor?.Dispose();
    }
}
