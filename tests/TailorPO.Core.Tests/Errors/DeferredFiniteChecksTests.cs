using TailorPO.Core.Errors;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Errors;

/// <summary>Deferred finiteness checks: recorded inside a batch, read together once, immediate outside.</summary>
public class DeferredFiniteChecksTests
{
    [Fact]
    public void Inside_a_batch_checks_are_recorded_and_the_first_non_finite_one_is_named_at_the_single_read()
    {
        using var finite = tensor(new[] { 1f, 2f });
        using var bad = tensor(new[] { float.NaN, float.PositiveInfinity, 3f });
        using var checks = DeferredFiniteChecks.Begin();
        NonFiniteValueException.ThrowIfNonFinite(finite, "the first tensor");
        NonFiniteValueException.ThrowIfNonFinite(bad, "the bad tensor"); // no throw yet
        Assert.Equal(2, checks.Count);
        using (var count = checks.NonFiniteCount())
            Assert.Equal(2L, count.item<long>());
        var error = Assert.Throws<NonFiniteValueException>(checks.ThrowIfAnyNonFinite);
        Assert.Equal("the bad tensor", error.What);
        Assert.Contains("2 NaN or infinite of 3 elements", error.Message);
        Assert.Equal(0, checks.Count); // the read clears the batch
    }

    [Fact]
    public void Outside_a_batch_and_after_it_checks_are_immediate_again()
    {
        using var bad = tensor(new[] { float.NaN });
        using (DeferredFiniteChecks.Begin())
            NonFiniteValueException.ThrowIfNonFinite(bad, "deferred");
        Assert.Throws<NonFiniteValueException>(() => NonFiniteValueException.ThrowIfNonFinite(bad, "immediate"));
    }

    [Fact]
    public void Batches_nest_and_restore_the_outer_one()
    {
        using var bad = tensor(new[] { float.NaN });
        using var outer = DeferredFiniteChecks.Begin();
        using (var inner = DeferredFiniteChecks.Begin())
        {
            NonFiniteValueException.ThrowIfNonFinite(bad, "inner");
            Assert.Equal(1, inner.Count);
            Assert.Equal(0, outer.Count);
        }
        NonFiniteValueException.ThrowIfNonFinite(bad, "outer");
        Assert.Equal(1, outer.Count);
        Assert.Throws<NonFiniteValueException>(outer.ThrowIfAnyNonFinite);
    }
}
