using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// diffusers' VAE <c>Encoder</c> (key prefix <c>encoder.</c>): <c>conv_in</c>,
/// <c>down_blocks.N</c>, <c>mid_block</c>, <c>conv_norm_out</c>, activation, <c>conv_out</c> to
/// 2 x latent channels (mean and log-variance).
/// </summary>
internal sealed class VaeEncoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Conv2dLayer conv_in;
    private readonly ModuleList<DownEncoderBlock2D> down_blocks;
    private readonly VaeMidBlock2D mid_block;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2dLayer conv_out;
#pragma warning restore IDE1006

    private readonly Func<Tensor, Tensor> _activation;

    public VaeEncoder(AutoencoderKLConfig config) : base(nameof(VaeEncoder))
    {
        var channels = config.BlockOutChannels;
        _activation = Blocks.Activation.Get(config.ActFn);
        conv_in = new Conv2dLayer(config.InChannels, channels[0], kernelSize: 3, padding: 1);
        var blocks = new DownEncoderBlock2D[channels.Count];
        for (var i = 0; i < channels.Count; i++)
            blocks[i] = new DownEncoderBlock2D(i == 0 ? channels[0] : channels[i - 1], channels[i], config.LayersPerBlock,
                config.NormNumGroups, config.ActFn, addDownsample: i < channels.Count - 1);
        down_blocks = new ModuleList<DownEncoderBlock2D>(blocks);
        mid_block = new VaeMidBlock2D(channels[^1], config.NormNumGroups, config.ActFn, config.MidBlockAddAttention);
        conv_norm_out = Normalization.GroupNorm(config.NormNumGroups, channels[^1], 1e-6);
        conv_out = new Conv2dLayer(channels[^1], 2 * config.LatentChannels, kernelSize: 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor image)
    {
        var hidden = conv_in.call(image);
        foreach (var block in down_blocks) hidden = VaeChain.Replace(hidden, block.call(hidden), image);
        hidden = VaeChain.Replace(hidden, mid_block.call(hidden), image);
        hidden = VaeChain.Replace(hidden, conv_norm_out.call(hidden), image);
        hidden = VaeChain.Replace(hidden, _activation(hidden), image);
        return VaeChain.Replace(hidden, conv_out.call(hidden), image);
    }
}
