using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// The VAE posterior q(z | x) = N(mean, std^2), diagonal, from the encoder's moments
/// [B, 2C, h, w] = (mean, log-variance). The log-variance is clamped to [-30, 20] as diffusers
/// does. Owns its tensors: dispose it (or let a dispose scope do so).
/// </summary>
public sealed class DiagonalGaussianDistribution : IDisposable
{
    /// <summary>Splits encoder moments [B, 2C, h, w] into mean and clamped log-variance.</summary>
    /// <exception cref="ArgumentException">The moments do not have an even channel count.</exception>
    public DiagonalGaussianDistribution(Tensor moments)
    {
        ArgumentNullException.ThrowIfNull(moments);
        if (moments.dim() != 4 || moments.shape[1] % 2 != 0)
            throw new ArgumentException(
                $"moments must be [B, 2C, h, w] (mean and log-variance); got [{string.Join(", ", moments.shape)}].", nameof(moments));
        using var scope = NewDisposeScope();
        var parts = moments.chunk(2, 1);
        Mean = parts[0].contiguous().MoveToOuterDisposeScope();
        LogVar = parts[1].clamp(-30.0, 20.0).MoveToOuterDisposeScope();
        Std = (LogVar * 0.5).exp().MoveToOuterDisposeScope();
    }

    /// <summary>Posterior mean [B, C, h, w] (also the mode).</summary>
    public Tensor Mean { get; }

    /// <summary>Log-variance clamped to [-30, 20], [B, C, h, w].</summary>
    public Tensor LogVar { get; }

    /// <summary>exp(LogVar / 2), [B, C, h, w].</summary>
    public Tensor Std { get; }

    /// <summary>The mode (= the mean): what diffusers' AutoencoderKL.forward decodes by default.</summary>
    public Tensor Mode() => Mean.alias();

    /// <summary>A draw mean + std * eps with eps ~ N(0, I) from <paramref name="generator"/>.</summary>
    public Tensor Sample(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        using var noise = randn(Mean.shape, dtype: Mean.dtype, device: Mean.device, generator: generator);
        return Sample(noise);
    }

    /// <summary>mean + std * <paramref name="noise"/> for a given standard normal draw of the mean's shape.</summary>
    /// <exception cref="ArgumentException">The noise has another shape.</exception>
    public Tensor Sample(Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        if (!noise.shape.SequenceEqual(Mean.shape))
            throw new ArgumentException(
                $"noise must have the latent shape [{string.Join(", ", Mean.shape)}]; got [{string.Join(", ", noise.shape)}].", nameof(noise));
        using var scope = NewDisposeScope();
        return (Mean + Std * noise.to(Mean.dtype, Mean.device)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}
