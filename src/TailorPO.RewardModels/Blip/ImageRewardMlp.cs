using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// ImageReward's head: Linear(H, 1024), Dropout, Linear(1024, 128), Dropout, Linear(128, 64), Dropout,
/// Linear(64, 16), Linear(16, 1) (<c>mlp.layers.{0,2,4,6,7}</c>), with no activations; dropout is inactive in eval.
/// </summary>
internal sealed class ImageRewardMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Sequential layers;
#pragma warning restore IDE1006

    public ImageRewardMlp(long inputSize) : base(nameof(ImageRewardMlp))
    {
        layers = nn.Sequential(
            Layers.Linear(inputSize, 1024), nn.Dropout(0.2), Layers.Linear(1024, 128), nn.Dropout(0.2),
            Layers.Linear(128, 64), nn.Dropout(0.1), Layers.Linear(64, 16), Layers.Linear(16, 1));
        RegisterComponents();
    }

    public override Tensor forward(Tensor features) => layers.forward(features);
}
