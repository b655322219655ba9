using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Schedules;

/// <summary>
/// The training noise schedule: betas, <c>alphas_cumprod</c> (abar) and the abar used after the last
/// inference step, computed exactly as diffusers' <c>DDIMScheduler</c> does - in float32, with torch's
/// <c>linspace</c> arithmetic and libtorch's <c>cumprod</c> - so abar matches the diffusers reference bit for bit.
/// Immutable and thread-safe; values are held on the host.
/// </summary>
public sealed class NoiseSchedule
{
    private readonly float[] _betas;
    private readonly float[] _alphasCumprod;

    /// <summary>Builds the schedule a configuration describes.</summary>
    /// <param name="config">The scheduler configuration (validated here).</param>
    /// <exception cref="Errors.SchedulerConfigException">The configuration holds an unusable value.</exception>
    public NoiseSchedule(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _betas = ComputeBetas(config);

        using var scope = NewDisposeScope();
        var betas = tensor(_betas, dtype: ScalarType.Float32);
        var alphas = 1.0f - betas;
        _alphasCumprod = alphas.cumprod(0).data<float>().ToArray();
        if (_alphasCumprod.Any(a => !(a > 0) || !float.IsFinite(a)))
            throw new Errors.SchedulerConfigException("trained_betas", config.Source,
                "the schedule drives alphas_cumprod to 0 (or NaN) in float32; x0_hat would divide by zero.");

        FinalAlphaCumprod = config.SetAlphaToOne ? 1.0f : _alphasCumprod[0];
    }

    /// <summary>Stable Diffusion v1.5's schedule (<see cref="SchedulerConfig.StableDiffusionV15"/>).</summary>
    public static NoiseSchedule StableDiffusionV15() => new(SchedulerConfig.StableDiffusionV15);

    /// <summary>The configuration the schedule was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>Number of training timesteps N.</summary>
    public int NumTrainTimesteps => _betas.Length;

    /// <summary>beta_t for t = 0 .. N-1 (float32, as diffusers).</summary>
    public IReadOnlyList<float> Betas => _betas;

    /// <summary>abar_t = prod_{s &lt;= t} (1 - beta_s) for t = 0 .. N-1 (float32 cumulative product, as diffusers).</summary>
    public IReadOnlyList<float> AlphasCumprod => _alphasCumprod;

    /// <summary>
    /// abar used when the previous timestep is negative (after the last step): 1 when
    /// <c>set_alpha_to_one</c>, else abar[0] (SD v1.5).
    /// </summary>
    public float FinalAlphaCumprod { get; }

    /// <summary>abar at a training timestep.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timestep"/> is outside [0, N-1].</exception>
    public float AlphaCumprod(long timestep)
    {
        if (timestep < 0 || timestep >= NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(timestep), timestep,
                $"Argument 'timestep' must lie in [0, {NumTrainTimesteps - 1}]; got {timestep}.");
        return _alphasCumprod[timestep];
    }

    /// <summary>abar at a previous timestep: <see cref="FinalAlphaCumprod"/> when it is negative (diffusers' rule).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="previousTimestep"/> is &gt;= N.</exception>
    public float PreviousAlphaCumprod(long previousTimestep) =>
        previousTimestep < 0 ? FinalAlphaCumprod : AlphaCumprod(previousTimestep);

    /// <summary>
    /// The forward process q(x_t | x_0): <c>x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise</c>, with one
    /// timestep per batch element, computed as diffusers' <c>add_noise</c> does (abar cast to the
    /// sample's dtype, then square roots). Used by noise-prediction training (pretraining, Diffusion-DPO).
    /// </summary>
    /// <param name="originalSamples">x0, [B, ...] floating point.</param>
    /// <param name="noise">eps ~ N(0, I), the shape, dtype and device of <paramref name="originalSamples"/>.</param>
    /// <param name="timesteps">t per batch element, integer [B] (or 0-d for the whole batch), values in [0, N-1].</param>
    /// <returns>x_t, the shape and dtype of <paramref name="originalSamples"/>, on its device.</returns>
    /// <exception cref="ArgumentException">Shapes, dtypes or devices do not fit (the argument is named).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A timestep lies outside [0, N-1].</exception>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        Internal.TensorGuard.Floating(originalSamples, nameof(originalSamples));
        if (originalSamples.dim() < 1 || originalSamples.shape[0] < 1)
            throw new ArgumentException(
                $"Argument 'originalSamples' has shape {Internal.TensorGuard.Shape(originalSamples)}; expected [B, ...] with B >= 1.", nameof(originalSamples));
        Internal.TensorGuard.Floating(noise, nameof(noise));
        Internal.TensorGuard.SameShape(noise, nameof(noise), originalSamples, nameof(originalSamples));
        Internal.TensorGuard.SameDevice(noise, nameof(noise), originalSamples, nameof(originalSamples));
        if (noise.dtype != originalSamples.dtype)
            throw new ArgumentException($"Argument 'noise' has dtype {noise.dtype}; expected the samples' {originalSamples.dtype}.", nameof(noise));
        Internal.TensorGuard.Integral(timesteps, nameof(timesteps));
        var batch = originalSamples.shape[0];
        if (timesteps.dim() > 1 || (timesteps.dim() == 1 && timesteps.shape[0] != batch))
            throw new ArgumentException(
                $"Argument 'timesteps' has shape {Internal.TensorGuard.Shape(timesteps)}; expected [{batch}] (one per batch element) or a 0-d tensor.",
                nameof(timesteps));

        using var scope = NewDisposeScope();
        var t = timesteps.to(originalSamples.device).to_type(ScalarType.Int64);
        if (t.dim() == 0) t = t.expand(batch);
        // The range check reads the timesteps, which is free on the CPU; on a GPU it would stall the queue every
        // call, so there an out-of-range timestep is left to index_select's own device-side error.
        if (t.device.type == DeviceType.CPU && (t.lt(0) | t.ge(NumTrainTimesteps)).any().item<bool>())
        {
            var bad = t.cpu().data<long>().ToArray().First(v => v < 0 || v >= NumTrainTimesteps);
            throw new ArgumentOutOfRangeException(nameof(timesteps), bad,
                $"Argument 'timesteps' holds timestep {bad}; expected values in [0, {NumTrainTimesteps - 1}].");
        }

        var alphas = AlphaTable(originalSamples.device).to_type(originalSamples.dtype).index_select(0, t);
        long[] shape = [batch, .. Enumerable.Repeat(1L, (int)originalSamples.dim() - 1)];
        var signal = alphas.sqrt().reshape(shape);
        var noiseScale = (1.0 - alphas).sqrt().reshape(shape);
        return (signal * originalSamples + noiseScale * noise).MoveToOuterDisposeScope();
    }

    /// <summary>abar on a device, copied there once (not per call); the cache lives as long as the schedule.</summary>
    private Tensor AlphaTable(Device device)
    {
        var key = (device.type, device.index);
        lock (_alphaTables)
        {
            if (!_alphaTables.TryGetValue(key, out var table))
            {
                table = tensor(_alphasCumprod, ScalarType.Float32, device).DetachFromDisposeScope();
                _alphaTables[key] = table;
            }
            return table;
        }
    }

    private readonly Dictionary<(DeviceType, int), Tensor> _alphaTables = [];

    private static float[] ComputeBetas(SchedulerConfig config)
    {
        var n = config.NumTrainTimesteps;
        if (config.TrainedBetas is { } trained)
            return trained.Select(b => (float)b).ToArray();

        switch (config.BetaSchedule)
        {
            case BetaSchedule.Linear:
                return Float32Linspace.Compute(config.BetaStart, config.BetaEnd, n);
            case BetaSchedule.ScaledLinear:
            {
                // diffusers: torch.linspace(beta_start**0.5, beta_end**0.5, N, dtype=float32) ** 2
                var roots = Float32Linspace.Compute(Math.Sqrt(config.BetaStart), Math.Sqrt(config.BetaEnd), n);
                return roots.Select(r => r * r).ToArray();
            }
            case BetaSchedule.SquaredCosCapV2:
            {
                // Glide's cosine alpha_bar, discretised in float64 and capped, then stored as float32.
                static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
                const double maxBeta = 0.999;
                var betas = new float[n];
                for (var i = 0; i < n; i++)
                {
                    var t1 = (double)i / n;
                    var t2 = (double)(i + 1) / n;
                    betas[i] = (float)Math.Min(1 - AlphaBar(t2) / AlphaBar(t1), maxBeta);
                }
                return betas;
            }
            default:
                throw new Errors.SchedulerConfigException("beta_schedule", config.Source, $"'{config.BetaSchedule}' is not supported.");
        }
    }
}
