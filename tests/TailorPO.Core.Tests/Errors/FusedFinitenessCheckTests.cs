using TailorPO.Core.Errors;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Errors;

/// <summary>
/// NonFiniteValueException.ThrowIfAnyNonFinite: one check over everything a training step produced,
/// throwing the same exception as the single-tensor check for the first offending tensor.
/// </summary>
public sealed class FusedFinitenessCheckTests
{
    [Fact]
    public void Finite_tensors_of_any_shape_and_dtype_pass_and_nulls_are_skipped()
    {
        using var scope = NewDisposeScope();
        NonFiniteValueException.ThrowIfAnyNonFinite();
        NonFiniteValueException.ThrowIfAnyNonFinite(
            (randn(2, 4, 8, 8), "latents"),
            (tensor(0.5), "a scalar loss"),
            (null, "an absent tensor"),
            (randn(3).to(ScalarType.BFloat16), "bfloat16 rewards"),
            (zeros(0), "an empty tensor"),
            (randn(2, requires_grad: true) * 2, "a tensor in an autograd graph"));
    }

    [Theory]
    [InlineData(float.NaN, 1, 0)]
    [InlineData(float.PositiveInfinity, 0, 1)]
    [InlineData(float.NegativeInfinity, 0, 1)]
    public void The_first_non_finite_tensor_is_named_with_the_single_tensor_message(float bad, int nan, int inf)
    {
        using var scope = NewDisposeScope();
        var rewards = tensor(new[] { 1f, bad, 3f });
        var loss = tensor(float.NaN);
        var ex = Assert.Throws<NonFiniteValueException>(() =>
            NonFiniteValueException.ThrowIfAnyNonFinite((randn(4), "eps"), (rewards, "the step rewards"), (loss, "the loss")));
        var single = Assert.Throws<NonFiniteValueException>(() => NonFiniteValueException.ThrowIfNonFinite(rewards, "the step rewards"));
        Assert.Equal("the step rewards", ex.What);
        Assert.Equal(single.Message, ex.Message);
        Assert.Contains($"{nan} NaN and {inf} infinite of 3 elements", ex.Message);
    }
}
