using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Refiners;

/// <summary>A differentiable reward with a trainable parameter: w . (per-channel mean colour).</summary>
internal sealed class LinearProbeReward : IRewardModel
{
    public LinearProbeReward()
    {
        Weight = new TorchSharp.Modules.Parameter(tensor(new[] { 0.5, -1.0, 2.0 }, dtype: ScalarType.Float64), requires_grad: true);
    }

    public TorchSharp.Modules.Parameter Weight { get; }

    public string Name => "linear-probe";

    public bool IsDifferentiable => true;

    public Tensor Score(Tensor images, IReadOnlyList<string> prompts) =>
        matmul(images.mean([2, 3]).to(ScalarType.Float64), Weight).to(images.dtype);
}
