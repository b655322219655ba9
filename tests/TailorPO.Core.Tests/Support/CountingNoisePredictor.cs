using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Support;

/// <summary>
/// A tiny differentiable stand-in for the UNet: eps = w * x_t + t / 1000 + mean(embeddings), with a
/// trainable scalar w. Counts calls and records each call's batch size.
/// </summary>
internal sealed class CountingNoisePredictor : INoisePredictor, IDisposable
{
    public CountingNoisePredictor(double weight = 0.3, ScalarType dtype = ScalarType.Float32)
    {
        Weight = tensor(weight, dtype).requires_grad_(true);
    }

    public Tensor Weight { get; }

    public int Calls { get; private set; }

    public List<long> BatchSizes { get; } = [];

    public Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates)
    {
        Calls++;
        BatchSizes.Add(latents.shape[0]);
        var b = latents.shape[0];
        var t = timesteps.dim() == 0 ? timesteps.expand(b) : timesteps;
        var timeTerm = (t.to_type(latents.dtype) / 1000.0).reshape(b, 1, 1, 1);
        var textTerm = encoderHiddenStates.to_type(latents.dtype).mean([1, 2]).reshape(b, 1, 1, 1);
        return Weight.to_type(latents.dtype) * latents + timeTerm + textTerm;
    }

    public void Dispose() => Weight.Dispose();
}
