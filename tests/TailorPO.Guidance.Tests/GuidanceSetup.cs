using TailorPO.Core.Abstractions;
using TailorPO.Rewards.StepRewards;
using TailorPO.TestUtilities.Doubles;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests;

/// <summary>A tiny latent-diffusion stand-in: Gaussian-data sampler, squashed linear decoder, a reward.</summary>
internal sealed class GuidanceSetup
{
    public GuidanceSetup(IRewardModel reward, int steps = 10, ScalarType dtype = ScalarType.Float64, int batch = 2, bool cfg = false, long seed = 7)
    {
        Sampler = new GaussianDataSampler(steps: steps);
        Decoder = new SquashedLinearDecoder();
        Estimator = new StepRewardEstimator(Decoder, reward);
        Dtype = dtype;
        using var generator = new Generator((ulong)seed);
        var embeddings = (randn([batch, 3, 5], dtype: ScalarType.Float64, generator: generator) * 0.3).to(dtype);
        Condition = new DiffusionCondition(
            Enumerable.Range(0, batch).Select(i => $"prompt {i}").ToArray(),
            embeddings,
            cfg ? zeros([batch, 3, 5], dtype: dtype) : null,
            cfg ? 5.0 : 1.0);
    }

    public GaussianDataSampler Sampler { get; }

    public SquashedLinearDecoder Decoder { get; }

    public StepRewardEstimator Estimator { get; }

    public DiffusionCondition Condition { get; }

    public ScalarType Dtype { get; }

    /// <summary>r_t(c, x) computed directly from the seams, for candidates drawn at <paramref name="stepIndex"/>.</summary>
    public Tensor StepReward(Tensor x, int stepIndex)
    {
        var x0 = stepIndex + 1 < Sampler.Timesteps.Count
            ? Sampler.PredictOriginal(x, stepIndex + 1, Sampler.PredictNoise(x, stepIndex + 1, Condition))
            : x;
        return Estimator.Estimate(x0, Condition.Prompts);
    }

    /// <summary>Seeded latents [B, 4, 3, 3].</summary>
    public Tensor Latents(long seed, int batch = 2)
    {
        using var generator = new Generator((ulong)seed);
        return randn([batch, 4, 3, 3], dtype: ScalarType.Float64, generator: generator).to(Dtype) * 0.7;
    }
}
