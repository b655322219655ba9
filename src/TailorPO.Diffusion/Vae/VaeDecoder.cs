using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// diffusers' VAE <c>Decoder</c> (key prefix <c>decoder.</c>): <c>conv_in</c>, <c>mid_block</c>,
/// <c>up_blocks.N</c> (channels in reverse order, layers_per_block + 1 resnets each),
/// <c>conv_norm_out</c>, activation, <c>conv_out</c>.
/// </summary>
internal sealed class VaeDecoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Conv2dLayer conv_in;
    private readonly VaeMidBlock2D mid_block;
    private readonly ModuleList<UpDecoderBlock2D> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2dLayer conv_out;
#pragma warning restore IDE1006

    private readonly Func<Tensor, Tensor> _activation;

    public VaeDecoder(AutoencoderKLConfig config) : base(nameof(VaeDecoder))
    {
        var reversed = config.BlockOutChannels.Reverse().ToArray();
        _activation = Blocks.Activation.Get(config.ActFn);
        conv_in = new Conv2dLayer(config.LatentChannels, reversed[0], kernelSize: 3, padding: 1);
        mid_block = new VaeMidBlock2D(reversed[0], config.NormNumGroups, config.ActFn, config.MidBlockAddAttention);
        var blocks = new UpDecoderBlock2D[reversed.Length];
        for (var i = 0; i < reversed.Length; i++)
            blocks[i] = new UpDecoderBlock2D(i == 0 ? reversed[0] : reversed[i - 1], reversed[i], config.LayersPerBlock + 1,
                config.NormNumGroups, config.ActFn, addUpsample: i < reversed.Length - 1);
        up_blocks = new ModuleList<UpDecoderBlock2D>(blocks);
        conv_norm_out = Normalization.GroupNorm(config.NormNumGroups, reversed[^1], 1e-6);
        conv_out = new Conv2dLayer(reversed[^1], config.OutChannels, kernelSize: 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>Decodes; <paramref name="midBlockOutput"/> receives a copy of the mid block's output when not null (diagnostics).</summary>
    public Tensor Forward(Tensor latents, List<Tensor>? midBlockOutput)
    {
        var hidden = conv_in.call(latents);
        hidden = VaeChain.Replace(hidden, mid_block.call(hidden), latents);
        midBlockOutput?.Add(hidden.alias());
        foreach (var block in up_blocks) hidden = VaeChain.Replace(hidden, block.call(hidden), latents);
        hidden = VaeChain.Replace(hidden, conv_norm_out.call(hidden), latents);
        hidden = VaeChain.Replace(hidden, _activation(hidden), latents);
        return VaeChain.Replace(hidden, conv_out.call(hidden), latents);
    }

    public override Tensor forward(Tensor latents) => Forward(latents, null);
}
