using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// diffusers' <c>Downsample2D</c>: a stride-2 3x3 convolution (key <c>conv</c>) or, without a
/// convolution, 2x2 average pooling. With <c>padding = 0</c> the input is first padded by one
/// pixel on the right and bottom only (the VAE encoder's asymmetric padding).
/// </summary>
internal sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Conv2dLayer? conv;
#pragma warning restore IDE1006

    private readonly long _padding;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">Input channels.</param>
    /// <param name="useConv">Use a strided convolution (true in SD) instead of average pooling.</param>
    /// <param name="outChannels">Output channels (default: <paramref name="channels"/>; must equal it without a convolution).</param>
    /// <param name="padding">Convolution padding (UNet 1; VAE 0 = asymmetric padding).</param>
    public Downsample2D(long channels, bool useConv = true, long? outChannels = null, long padding = 1)
        : base(nameof(Downsample2D))
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "must be positive.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "must be 0 or more.");
        Channels = channels;
        OutChannels = outChannels ?? channels;
        if (!useConv && OutChannels != channels)
            throw new ArgumentException($"average-pool downsampling keeps the channels ({channels}); outChannels {OutChannels} needs useConv.", nameof(outChannels));
        _padding = padding;
        if (useConv) conv = new Conv2dLayer(channels, OutChannels, 3, stride: 2, padding: padding);
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public long Channels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != Channels)
            throw new ArgumentException($"input must be [B, {Channels}, H, W]; got [{string.Join(", ", input.shape)}].", nameof(input));
        if (conv is null) return nn.functional.avg_pool2d(input, new long[] { 2, 2 }, new long[] { 2, 2 });
        if (_padding == 0)
        {
            using var padded = nn.functional.pad(input, new long[] { 0, 1, 0, 1 }, PaddingModes.Constant, 0);
            return conv.call(padded);
        }
        return conv.call(input);
    }
}
