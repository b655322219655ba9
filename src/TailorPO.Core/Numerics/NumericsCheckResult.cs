using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>One op checked against float64 on the same values.</summary>
/// <param name="Operation">The op and its shape (e.g. "conv2d [2,8,7,9] 8->3 k3 s1 p1").</param>
/// <param name="Path">The path it ran on ("native", "reference (im2col)", "float32 detour").</param>
/// <param name="Dtype">The dtype it ran in.</param>
/// <param name="Threads">libtorch's intra-op threads during the check.</param>
/// <param name="RelativeError">The worst error over output and gradients, relative to the largest float64 magnitude (+inf for NaN/inf).</param>
/// <param name="Tolerance">The largest error rounding in <paramref name="Dtype"/> may leave.</param>
/// <param name="Informational">A check of a path this process does not use (libtorch's raw convolution where the guard routes around it): reported, never a failure.</param>
public sealed record NumericsCheckResult(string Operation, string Path, ScalarType Dtype, int Threads, double RelativeError, double Tolerance, bool Informational = false)
{
    /// <summary>Whether the op is within its tolerance.</summary>
    public bool Passed => RelativeError <= Tolerance;

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Passed ? "ok  " : Informational ? "bad " : "FAIL")} {Operation,-44} {Dtype,-9} threads {Threads}  {Path,-20} error {RelativeError:E2} (tolerance {Tolerance:E0})";
}
