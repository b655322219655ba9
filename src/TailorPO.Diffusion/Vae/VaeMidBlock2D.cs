using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// diffusers' <c>UNetMidBlock2D</c> as the VAE builds it: <c>resnets.0</c>, then
/// <c>attentions.0</c> (one head over all channels, input GroupNorm, residual connection,
/// attention upcast to float32 for half inputs) and <c>resnets.1</c>.
/// </summary>
internal sealed class VaeMidBlock2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Attention>? attentions;
#pragma warning restore IDE1006

    public VaeMidBlock2D(long channels, long groups, string activation, bool addAttention) : base(nameof(VaeMidBlock2D))
    {
        resnets = VaeChain.Resnets(channels, channels, layers: 2, groups, activation);
        if (addAttention)
            attentions = new ModuleList<Attention>(new Attention(channels, heads: 1, dimHead: channels, bias: true,
                upcastSoftmax: true, normNumGroups: groups, eps: 1e-6, residualConnection: true));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var hidden = resnets[0].call(input, null);
        if (attentions is not null) hidden = VaeChain.Replace(hidden, attentions[0].call(hidden, null), input);
        return VaeChain.Replace(hidden, resnets[1].call(hidden, null), input);
    }
}
