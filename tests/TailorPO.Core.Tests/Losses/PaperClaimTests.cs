using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Sampling;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Losses;

/// <summary>
/// The paper's gradient claims, reproduced with a tiny linear "network" mu_theta(x_t) = A x_t + b:
/// TailorPO's update moves the mean towards x^w - x^l (Eq. 11); D3PO's update can move it towards
/// the dis-preferred sample when the two trajectories' means differ (Eq. 9).
/// </summary>
public class PaperClaimTests
{
    private const int Dim = 6;

    private sealed class LinearMean : IDisposable
    {
        public LinearMean(int seed)
        {
            var generator = new Generator((ulong)seed);
            A = (eye(Dim, dtype: ScalarType.Float64) + 0.1 * randn([Dim, Dim], ScalarType.Float64, generator: generator)).requires_grad_(true);
            B = (0.1 * randn([Dim], ScalarType.Float64, generator: generator)).requires_grad_(true);
        }

        public Tensor A { get; }
        public Tensor B { get; }

        /// <summary>mu(x) for x [batch, Dim], reshaped to [batch, 1, 1, Dim] so the DDIM helpers see [B, ...].</summary>
        public Tensor Mean(Tensor x) => (x.matmul(A.t()) + B).reshape(x.shape[0], 1, 1, Dim);

        public void Step(double learningRate)
        {
            using var noGrad = no_grad();
            A.sub_(learningRate * A.grad!);
            B.sub_(learningRate * B.grad!);
            A.grad!.zero_();
            B.grad!.zero_();
        }

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
        }
    }

    [Fact]
    public void TailorPO_update_moves_the_mean_along_preferred_minus_dispreferred_eq_11()
    {
        using var scope = NewDisposeScope();
        for (var seed = 0; seed < 5; seed++)
        {
            using var model = new LinearMean(seed);
            var generator = new Generator((ulong)(100 + seed));
            var xt = randn([1, Dim], ScalarType.Float64, generator: generator);
            var sigma = tensor(new[] { 0.5 });
            var referenceMean = model.Mean(xt).detach();
            // Two candidates from the SAME x_t; the second one is preferred.
            var candidates = referenceMean.unsqueeze(0) + 0.5 * randn([2, 1, 1, 1, Dim], ScalarType.Float64, generator: generator);
            var (preferred, dispreferred) = (candidates[1], candidates[0]);

            var mean = model.Mean(xt);
            var pair = new PreferencePair(
                DdimStepMath.LogRatio(preferred, mean, referenceMean, sigma),
                DdimStepMath.LogRatio(dispreferred, mean, referenceMean, sigma));
            new TailorPOLoss(beta: 0.1).Compute(pair).Loss.backward();
            model.Step(learningRate: 0.05);

            using var noGrad = no_grad();
            var moved = (model.Mean(xt) - referenceMean).flatten();
            var direction = (preferred - dispreferred).flatten();
            var cosine = moved.dot(direction).item<double>() / (moved.norm().item<double>() * direction.norm().item<double>());
            Assert.True(cosine > 0.5, $"seed {seed}: the mean moved at cosine {cosine:F3} to x^w - x^l; Eq. 11 says it follows x^w - x^l");
        }
    }

    [Fact]
    public void D3po_update_can_move_the_preferred_mean_towards_the_dispreferred_sample_eq_9()
    {
        using var scope = NewDisposeScope();
        // mu(x) = x + b: both trajectories share d mu / d theta (the identity), the case Eq. 9 analyses.
        var b = zeros(Dim, ScalarType.Float64).requires_grad_(true);
        Tensor Mean(Tensor x) => (x + b).reshape(1, 1, 1, Dim);
        var sigma = tensor(new[] { 0.5 });
        var generator = new Generator(3);
        var zw = randn([1, Dim], ScalarType.Float64, generator: generator);
        var zl = randn([1, Dim], ScalarType.Float64, generator: generator);
        var noiseGap = 0.5 * (zw - zl);
        // Different inputs whose means differ by -3 (sigma z^w - sigma z^l): then x^w_{t-1} - x^l_{t-1} = -2 (sigma z^w - sigma z^l).
        var xtLoser = randn([1, Dim], ScalarType.Float64, generator: generator);
        var xtWinner = xtLoser - 3 * noiseGap;
        var winnerNext = (xtWinner + 0.5 * zw).reshape(1, 1, 1, Dim);
        var loserNext = (xtLoser + 0.5 * zl).reshape(1, 1, 1, Dim);
        var referenceWinner = Mean(xtWinner).detach();
        var referenceLoser = Mean(xtLoser).detach();

        var pair = new PreferencePair(
            DdimStepMath.LogRatio(winnerNext, Mean(xtWinner), referenceWinner, sigma),
            DdimStepMath.LogRatio(loserNext, Mean(xtLoser), referenceLoser, sigma));
        new D3poLoss(beta: 0.1, clampEpsilon: 0.1).Compute(pair).Loss.backward();
        using (no_grad()) b.sub_(0.05 * b.grad!);

        using var noGrad = no_grad();
        var moved = (Mean(xtWinner) - referenceWinner).flatten();
        var preferredMinusDispreferred = (winnerNext - loserNext).flatten();
        Assert.True(moved.norm().item<double>() > 0, "the update must change the mean");
        Assert.True(moved.dot(preferredMinusDispreferred).item<double>() < 0,
            "with equal Jacobians and mu(x^l_t) - mu(x^w_t) large, D3PO moves mu(x^w_t) away from x^w_{t-1} - x^l_{t-1}, i.e. towards the dis-preferred sample");

        // TailorPO on the same preferred / dis-preferred samples, but from ONE x_t, moves towards the preferred one.
        b.grad!.zero_();
        b.zero_();
        using (enable_grad())
        {
            var mean = Mean(xtWinner);
            var sameInput = new PreferencePair(
                DdimStepMath.LogRatio(winnerNext, mean, referenceWinner, sigma),
                DdimStepMath.LogRatio(loserNext, mean, referenceWinner, sigma));
            new TailorPOLoss(beta: 0.1).Compute(sameInput).Loss.backward();
        }
        b.sub_(0.05 * b.grad!);
        var movedSameInput = (Mean(xtWinner) - referenceWinner).flatten();
        Assert.True(movedSameInput.dot(preferredMinusDispreferred).item<double>() > 0);
    }
}
