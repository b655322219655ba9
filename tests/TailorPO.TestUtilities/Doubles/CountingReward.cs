using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities.Doubles;

/// <summary>Wraps a reward and records the batch size of every call.</summary>
public sealed class CountingReward(IRewardModel inner) : IRewardModel
{
    private readonly List<long> _batchSizes = new();

    /// <summary>Batch size of every call so far.</summary>
    public IReadOnlyList<long> BatchSizes => _batchSizes;

    /// <summary>Whether the images of the last call required grad.</summary>
    public bool LastInputRequiredGrad { get; private set; }

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public bool IsDifferentiable => inner.IsDifferentiable;

    /// <inheritdoc />
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
    {
        _batchSizes.Add(images.shape[0]);
        LastInputRequiredGrad = images.requires_grad;
        return inner.Score(images, prompts);
    }
}
