using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Integration;

/// <summary>
/// A smooth closed-form eps_theta for the real <c>DdimSampler</c>: per element
/// <c>eps = tanh(a(t) * x + mean(c))</c> with a(t) = 0.5 + t / 1000, so it depends on the latents,
/// the timestep and the conditioning, and is differentiable everywhere.
/// </summary>
internal sealed class TanhNoisePredictor : INoisePredictor
{
    public int Calls { get; private set; }

    public Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates)
    {
        Calls++;
        var rank = (int)latents.dim();
        var t = timesteps.to(latents.dtype);
        t = t.dim() == 0 ? t.expand(latents.shape[0]) : t;
        var scale = (0.5 + t / 1000.0).reshape([latents.shape[0], .. Enumerable.Repeat(1L, rank - 1)]);
        var shift = encoderHiddenStates.to(latents.dtype).flatten(1).mean([1]).reshape([latents.shape[0], .. Enumerable.Repeat(1L, rank - 1)]);
        return (scale * latents + shift).tanh();
    }
}
