using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities.Doubles;

/// <summary>
/// A tiny latent decoder for tests: a fixed 1x1 linear map from C latent channels to RGB, a 2x
/// nearest-neighbour upsampling, then a sigmoid, so images always lie in (0, 1) and every pixel
/// depends smoothly on the latents (no clamp kinks in gradient checks). Counts its calls.
/// </summary>
public sealed class SquashedLinearDecoder : ILatentDecoder
{
    private readonly double[,] _mix;

    /// <summary>Creates the decoder with a deterministic mixing matrix [3, channels].</summary>
    public SquashedLinearDecoder(int channels = 4)
    {
        _mix = new double[3, channels];
        for (var o = 0; o < 3; o++)
            for (var c = 0; c < channels; c++)
                _mix[o, c] = Math.Cos(1.3 * o + 0.7 * c + 0.2) * 0.8;
        Channels = channels;
    }

    /// <summary>The latent channel count.</summary>
    public int Channels { get; }

    /// <summary>How many times <see cref="DecodeToImages"/> ran.</summary>
    public int Calls { get; private set; }

    /// <summary>Batch size of the last call.</summary>
    public long LastBatchSize { get; private set; }

    /// <summary>The mixing weight from latent channel c to RGB channel o.</summary>
    public double Weight(int o, int c) => _mix[o, c];

    /// <inheritdoc />
    public Tensor DecodeToImages(Tensor latents)
    {
        Calls++;
        LastBatchSize = latents.shape[0];
        var weights = new double[3 * Channels];
        for (var o = 0; o < 3; o++)
            for (var c = 0; c < Channels; c++)
                weights[o * Channels + c] = _mix[o, c];
        var w = tensor(weights, dtype: latents.dtype, device: latents.device).reshape(3, Channels);
        var rgb = einsum("oc,bchw->bohw", w, latents);
        var upsampled = rgb.repeat_interleave(2, dim: 2).repeat_interleave(2, dim: 3);
        return upsampled.sigmoid();
    }
}
