using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>The <c>encoder.layer.N</c> list.</summary>
internal sealed class BertLayerStack : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<BertLayer> layer;
#pragma warning restore IDE1006

    public BertLayerStack(ImageRewardConfig config) : base(nameof(BertLayerStack))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, (int)config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor selfMask, Tensor imageTokens)
    {
        var current = hidden;
        foreach (var block in layer)
        {
            var next = block.Forward(current, selfMask, imageTokens);
            if (!ReferenceEquals(current, hidden)) current.Dispose();
            current = next;
        }
        return ReferenceEquals(current, hidden) ? hidden.alias() : current;
    }
}
