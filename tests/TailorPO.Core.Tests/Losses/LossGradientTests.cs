using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Tests.Support;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Losses;

/// <summary>Autograd gradients of every loss against central finite differences in float64.</summary>
public class LossGradientTests
{
    // Log-ratios chosen away from D3PO's clamp boundaries ln 0.9 = -0.105 and ln 1.1 = 0.095.
    private static readonly double[] Preferred = [0.03, -0.5, 0.07, 0.2];
    private static readonly double[] Dispreferred = [-0.02, 0.04, 0.3, -0.06];

    public static TheoryData<string> PairwiseLosses => ["dpo", "d3po", "tailorpo", "tailorpo-clamped", "diffusion-dpo"];

    private static IPairwiseLoss Create(string name) => name switch
    {
        "dpo" => new DpoLoss(0.7),
        "d3po" => new D3poLoss(0.7, 0.1),
        "tailorpo" => new TailorPOLoss(0.7),
        "tailorpo-clamped" => new TailorPOLoss(0.7, 0.1),
        "diffusion-dpo" => new DiffusionDpoLoss(5),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(PairwiseLosses))]
    public void Pairwise_loss_gradients_match_finite_differences(string name)
    {
        using var scope = NewDisposeScope();
        var loss = Create(name);
        var both = tensor(Preferred.Concat(Dispreferred).ToArray(), requires_grad: true);
        double Evaluate(Tensor v)
        {
            using var inner = NewDisposeScope();
            return loss.Compute(new PreferencePair(v[..4], v[4..])).Loss.item<double>();
        }

        loss.Compute(new PreferencePair(both[..4], both[4..])).Loss.backward();
        var numeric = FiniteDifference.Gradient(Evaluate, both);
        FiniteDifference.AssertClose(numeric, both.grad!.data<double>().ToArray(), what: $"{name} gradient");
        Assert.Contains(both.grad!.data<double>().ToArray(), g => g != 0);
    }

    [Fact]
    public void TailorPO_indicator_form_gradient_matches_finite_differences()
    {
        using var scope = NewDisposeScope();
        var loss = new TailorPOLoss(0.5);
        var rewards0 = tensor(new[] { 1.0, 0.0, 2.0, 3.0 });
        var rewards1 = tensor(new[] { 0.0, 1.0, 2.0, 1.0 });
        var both = tensor(Preferred.Concat(Dispreferred).ToArray(), requires_grad: true);
        loss.ComputeFromCandidates(both[..4], both[4..], rewards0, rewards1).Loss.backward();
        var numeric = FiniteDifference.Gradient(v =>
        {
            using var inner = NewDisposeScope();
            return loss.ComputeFromCandidates(v[..4], v[4..], rewards0, rewards1).Loss.item<double>();
        }, both);
        FiniteDifference.AssertClose(numeric, both.grad!.data<double>().ToArray(), what: "indicator-form gradient");
    }

    [Fact]
    public void Diffusion_dpo_gradient_with_respect_to_the_policy_errors_matches_finite_differences()
    {
        using var scope = NewDisposeScope();
        var loss = new DiffusionDpoLoss(50);
        var reference = tensor(new[] { 0.11, 0.19, 0.3, 0.05 });
        var errors = tensor(new[] { 0.10, 0.21, 0.12, 0.18 }, requires_grad: true);
        loss.ComputeFromErrors(errors[..2], errors[2..], reference[..2], reference[2..]).Loss.backward();
        var numeric = FiniteDifference.Gradient(v =>
        {
            using var inner = NewDisposeScope();
            return loss.ComputeFromErrors(v[..2], v[2..], reference[..2], reference[2..]).Loss.item<double>();
        }, errors);
        FiniteDifference.AssertClose(numeric, errors.grad!.data<double>().ToArray(), what: "Diffusion-DPO gradient");
    }

    [Fact]
    public void Ddpo_objective_gradient_matches_finite_differences_inside_and_outside_the_clip()
    {
        using var scope = NewDisposeScope();
        var objective = new DdpoClipObjective(1e-4, 5);
        var old = tensor(new[] { 0.0, 0.0, 0.0, 0.0, 0.0 });
        var advantages = tensor(new[] { 1.5, -2.0, 3.0, -1.0, 8.0 });
        // |log ratio| = 3e-5 is inside the clip; 0.01 / -0.01 are outside (one side clipped, one not).
        var logp = tensor(new[] { 3e-5, -3e-5, 0.01, 0.01, -0.01 }, requires_grad: true);
        objective.Compute(logp, old, advantages).Loss.backward();
        var numeric = FiniteDifference.Gradient(v =>
        {
            using var inner = NewDisposeScope();
            return objective.Compute(v, old, advantages).Loss.item<double>();
        }, logp, h: 1e-7);
        FiniteDifference.AssertClose(numeric, logp.grad!.data<double>().ToArray(), atol: 1e-6, what: "DDPO gradient");
    }
}
