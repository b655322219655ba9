using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// The sinusoidal timestep embedding of diffusers (<c>get_timestep_embedding</c>, used by the
/// <c>Timesteps</c> layer, key-less): frequencies exp(-ln(10000) * i / (half - shift)),
/// [sin, cos] of t * freq (or [cos, sin] when flipped), zero-padded for odd widths.
/// Timesteps are taken as float32 whatever their dtype, as diffusers does.
/// </summary>
internal static class TimestepEncoding
{
    /// <summary>Embeds timesteps.</summary>
    /// <param name="timesteps">Shape [B] (any numeric dtype).</param>
    /// <param name="dim">Embedding width.</param>
    /// <param name="flipSinToCos">Put the cosines first.</param>
    /// <param name="freqShift">diffusers' <c>downscale_freq_shift</c>.</param>
    /// <param name="maxPeriod">The longest period (10000).</param>
    /// <returns>[B, dim] float32.</returns>
    public static Tensor Sinusoidal(Tensor timesteps, long dim, bool flipSinToCos, double freqShift, double maxPeriod = 10000)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (timesteps.dim() != 1)
            throw new ArgumentException($"timesteps must be 1-D [B]; got [{string.Join(", ", timesteps.shape)}].", nameof(timesteps));
        if (dim < 2) throw new ArgumentOutOfRangeException(nameof(dim), dim, "the embedding width must be at least 2.");
        long half = dim / 2;
        if (half - freqShift == 0) throw new ArgumentException($"freqShift {freqShift} equals half the width; the frequencies are undefined.", nameof(freqShift));

        using var scope = NewDisposeScope();
        var exponent = arange(0, half, dtype: ScalarType.Float32, device: timesteps.device) * (float)(-Math.Log(maxPeriod));
        exponent = exponent / (float)(half - freqShift);
        var frequencies = exponent.exp();
        var arguments = timesteps.to(ScalarType.Float32).unsqueeze(1) * frequencies.unsqueeze(0);
        var embedding = flipSinToCos
            ? cat(new[] { arguments.cos(), arguments.sin() }, 1)
            : cat(new[] { arguments.sin(), arguments.cos() }, 1);
        if (dim % 2 == 1) embedding = nn.functional.pad(embedding, new long[] { 0, 1 });
        return embedding.MoveToOuterDisposeScope();
    }
}
