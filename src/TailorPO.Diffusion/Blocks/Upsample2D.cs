using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// diffusers' <c>Upsample2D</c>: nearest-neighbour upsampling by 2 (or to an explicit size, which
/// the UNet passes when the latent is not a multiple of its overall downsampling factor), then a
/// 3x3 convolution (key <c>conv</c>). bfloat16 inputs are interpolated in float32, as diffusers does.
/// </summary>
internal sealed class Upsample2D : nn.Module<Tensor, long[]?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Conv2dLayer? conv;
#pragma warning restore IDE1006

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">Input channels.</param>
    /// <param name="useConv">Follow the upsampling with a 3x3 convolution (true in SD).</param>
    /// <param name="outChannels">Output channels (default: <paramref name="channels"/>).</param>
    public Upsample2D(long channels, bool useConv = true, long? outChannels = null) : base(nameof(Upsample2D))
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "must be positive.");
        Channels = channels;
        OutChannels = outChannels ?? channels;
        if (!useConv && OutChannels != channels)
            throw new ArgumentException($"upsampling without a convolution keeps the channels ({channels}); outChannels {OutChannels} needs useConv.", nameof(outChannels));
        if (useConv) conv = new Conv2dLayer(channels, OutChannels, 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public long Channels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Upsamples by 2 without an explicit size.</summary>
    public Tensor call(Tensor input) => call(input, null);

    /// <summary>Upsamples.</summary>
    /// <param name="input">[B, C, H, W].</param>
    /// <param name="outputSize">[H', W'] target size; null doubles H and W.</param>
    public override Tensor forward(Tensor input, long[]? outputSize)
    {
        if (input.dim() != 4 || input.shape[1] != Channels)
            throw new ArgumentException($"input must be [B, {Channels}, H, W]; got [{string.Join(", ", input.shape)}].", nameof(input));
        if (outputSize is not null && (outputSize.Length != 2 || outputSize.Any(s => s <= 0)))
            throw new ArgumentException($"outputSize must be [H, W] with positive entries; got [{string.Join(", ", outputSize)}].", nameof(outputSize));

        using var scope = NewDisposeScope();
        var dtype = input.dtype;
        var x = dtype == ScalarType.BFloat16 ? input.to(ScalarType.Float32) : input;
        x = outputSize is null
            ? nn.functional.interpolate(x, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Nearest)
            : nn.functional.interpolate(x, size: outputSize, mode: InterpolationMode.Nearest);
        if (x.dtype != dtype) x = x.to(dtype);
        if (conv is not null) x = conv.call(x);
        return x.MoveToOuterDisposeScope();
    }
}
