using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>How closely float64 results follow the torch fixture: the worst element-wise relative difference and how many values are not bit-identical.</summary>
internal readonly record struct ReferenceAgreement(double Worst, long Differing, long Total)
{
    /// <summary>
    /// Bound on |ours - torch| relative to the largest |torch value| of the same tensor. Both sides run the same float64
    /// operations in the same order, so what remains is the last-bit rounding of libtorch's vectorised kernels (torch
    /// 1.13 against TorchSharp's libtorch): observed at most 4.7e-15 element-wise over 50 steps (usually bit-identical).
    /// The bound is per tensor rather than per element because a parameter crossing zero keeps the absolute rounding of
    /// its larger neighbours.
    /// </summary>
    internal const double RelativeTolerance = 1e-14;

    public static ReferenceAgreement operator +(ReferenceAgreement a, ReferenceAgreement b) =>
        new(Math.Max(a.Worst, b.Worst), a.Differing + b.Differing, a.Total + b.Total);

    /// <summary>Asserts each (fixture name, tensor) pair within <see cref="RelativeTolerance"/>; returns the figures.</summary>
    internal static ReferenceAgreement Assert(FixtureCases file, IEnumerable<(string Expected, Tensor Actual)> pairs)
    {
        var agreement = new ReferenceAgreement();
        foreach (var (name, actual) in pairs)
        {
            using var scope = NewDisposeScope();
            var e = file[name].to_type(ScalarType.Float64);
            var a = actual.detach().to_type(ScalarType.Float64);
            TensorAssert.Close(e, a, atol: RelativeTolerance * e.abs().max().item<double>(), what: name);
            var difference = (a - e).abs();
            var worst = difference.div(e.abs()).nan_to_num(0, double.PositiveInfinity, double.PositiveInfinity).max().item<double>();
            agreement += new ReferenceAgreement(worst, difference.gt(0).sum().item<long>(), e.numel());
        }
        return agreement;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"max element-wise relative difference from torch {Worst:E3}; {Differing} of {Total} values not bit-identical";
}
