using static TorchSharp.torch;

namespace TailorPO.Core.Schedules;

/// <summary>
/// The training noise schedule: betas, <c>alphas_cumprod</c> (abar) and the abar used after the last
/// inference step, computed exactly as diffusers' <c>DDIMScheduler</c> does - in float32, with the
/// same libtorch <c>linspace</c> / <c>cumprod</c> kernels - so abar matches a diffusers run bit for bit.
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

    private static float[] ComputeBetas(SchedulerConfig config)
    {
        var n = config.NumTrainTimesteps;
        if (config.TrainedBetas is { } trained)
            return trained.Select(b => (float)b).ToArray();

        switch (config.BetaSchedule)
        {
            case BetaSchedule.Linear:
            {
                using var scope = NewDisposeScope();
                return linspace(config.BetaStart, config.BetaEnd, n, dtype: ScalarType.Float32).data<float>().ToArray();
            }
            case BetaSchedule.ScaledLinear:
            {
                // diffusers: torch.linspace(beta_start**0.5, beta_end**0.5, N, dtype=float32) ** 2
                using var scope = NewDisposeScope();
                return linspace(Math.Sqrt(config.BetaStart), Math.Sqrt(config.BetaEnd), n, dtype: ScalarType.Float32)
                    .pow(2).data<float>().ToArray();
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
