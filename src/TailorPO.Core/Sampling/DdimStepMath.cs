using TailorPO.Core.Internal;
using TailorPO.Core.Schedules;
using static TorchSharp.torch;

namespace TailorPO.Core.Sampling;

/// <summary>
/// The arithmetic of one DDIM step (docs/concepts.md and the paper's Eq. 2; DDIM with eta, log-probabilities as ddpo-pytorch's ddim_step_with_logprob):
/// predicted x0, sigma_t(eta), the posterior mean, sampling, and the element-mean Gaussian
/// log-probability of a given x_{t-1} (the DDPO / D3PO / SPO convention). Timesteps may differ per
/// batch element. Everything is differentiable with respect to the noise prediction and the mean.
/// </summary>
/// <remarks>
/// Coefficients are computed in float32 from the float32 abar, operation for operation as
/// diffusers' <c>DDIMScheduler.step</c> and ddpo-pytorch's <c>ddim_step_with_logprob</c> do, or in
/// float64 when the sample is float64. Outputs keep the sample's dtype; log-probabilities of
/// float16 / bfloat16 samples are computed in float32.
/// <para>Timesteps stay on their device: abar_t and abar_t' are gathered from a table kept on that
/// device, so a step reads nothing back to the host (on a GPU, a device-to-host copy would wait for
/// the whole UNet). Timesteps outside [0, N-1] are refused with an exception for CPU tensors, where
/// reading them costs nothing; on other devices an out-of-range index fails inside libtorch.</para>
/// </remarks>
public sealed class DdimStepMath
{
    /// <summary>0.5 * log(2 pi) = log(sqrt(2 pi)).</summary>
    private static readonly double HalfLogTwoPi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary><see cref="AlphaTable"/> per device (its string form); also the lock.</summary>
    private readonly Dictionary<string, Tensor> _alphaTables = [];

    /// <summary>Creates the step arithmetic for a schedule and an inference timestep layout.</summary>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="timesteps">The inference timesteps (they define t' = t - N // n).</param>
    /// <exception cref="ArgumentException">The two were built for different numbers of training timesteps.</exception>
    public DdimStepMath(NoiseSchedule schedule, DdimTimesteps timesteps)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(timesteps);
        if (schedule.NumTrainTimesteps != timesteps.NumTrainTimesteps)
            throw new ArgumentException(
                $"Argument 'timesteps' was laid out for {timesteps.NumTrainTimesteps} training timesteps; the schedule has {schedule.NumTrainTimesteps}.",
                nameof(timesteps));
        Schedule = schedule;
        Timesteps = timesteps;
    }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The inference timesteps.</summary>
    public DdimTimesteps Timesteps { get; }

    /// <summary>x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), clamped when the config says <c>clip_sample</c>.</summary>
    /// <param name="sample">x_t, [B, ...].</param>
    /// <param name="timesteps">t, int64 [B] or a 0-d tensor for the whole batch.</param>
    /// <param name="noisePrediction">eps (CFG-combined), the shape of <paramref name="sample"/>.</param>
    public Tensor PredictOriginal(Tensor sample, Tensor timesteps, Tensor noisePrediction)
    {
        CheckSampleAndNoise(sample, noisePrediction);
        using var scope = NewDisposeScope();
        var (_, _, alpha, _) = Coefficients(timesteps, sample.shape[0], nameof(timesteps), ComputeType(sample), sample.device);
        return PredictOriginalCore(sample, noisePrediction, alpha).MoveToOuterDisposeScope();
    }

    /// <summary>sigma_t(eta) = eta sqrt((1 - abar_t') / (1 - abar_t)) sqrt(1 - abar_t / abar_t'), per batch element.</summary>
    /// <param name="timesteps">t, int64 [B] or 0-d (then the result has one element per <paramref name="batchSize"/>).</param>
    /// <param name="eta">DDIM eta in [0, 1] (1 = DDPM-like, the paper's setting; 0 = deterministic).</param>
    /// <param name="batchSize">B when <paramref name="timesteps"/> is 0-d; ignored otherwise.</param>
    /// <returns>[B], float32, on the device of <paramref name="timesteps"/>.</returns>
    public Tensor Sigma(Tensor timesteps, double eta, long batchSize = 1)
    {
        CheckEta(eta, requirePositive: false);
        TensorGuard.NotNull(timesteps, nameof(timesteps));
        using var scope = NewDisposeScope();
        var batch = timesteps.dim() == 0 ? batchSize : timesteps.shape[0];
        var (_, _, alpha, alphaPrev) = Coefficients(timesteps, batch, nameof(timesteps), ScalarType.Float32, timesteps.device);
        return SigmaCore(alpha, alphaPrev, eta).MoveToOuterDisposeScope();
    }

    /// <summary>The whole posterior of one step: x0_hat, sigma and the mean.</summary>
    /// <param name="sample">x_t, [B, ...] floating point.</param>
    /// <param name="timesteps">t, int64 [B] (one per batch element) or 0-d for the whole batch.</param>
    /// <param name="noisePrediction">eps (CFG-combined), the shape of <paramref name="sample"/>.</param>
    /// <param name="eta">DDIM eta in [0, 1]. eta = 0 gives sigma = 0 (deterministic DDIM; no log-probabilities).</param>
    public DdimPosterior Posterior(Tensor sample, Tensor timesteps, Tensor noisePrediction, double eta)
    {
        CheckSampleAndNoise(sample, noisePrediction);
        CheckEta(eta, requirePositive: false);
        using var scope = NewDisposeScope();
        var batch = sample.shape[0];
        var (t, tPrev, alpha, alphaPrev) = Coefficients(timesteps, batch, nameof(timesteps), ComputeType(sample), sample.device);
        var x0 = PredictOriginalCore(sample, noisePrediction, alpha);
        var sigma = SigmaCore(alpha, alphaPrev, eta);

        // sqrt(1 - abar' - sigma^2) is >= 0 in exact arithmetic for eta <= 1; the clamp only stops a
        // rounding-level negative value at eta = 1 from turning into NaN.
        var direction = (1.0 - alphaPrev - sigma.square()).clamp_min(0).sqrt();
        var mean = Broadcast(alphaPrev.sqrt(), sample) * x0 + Broadcast(direction, sample) * noisePrediction;

        return new DdimPosterior(
            t.MoveToOuterDisposeScope(),
            tPrev.MoveToOuterDisposeScope(),
            alpha.MoveToOuterDisposeScope(),
            alphaPrev.MoveToOuterDisposeScope(),
            x0.MoveToOuterDisposeScope(),
            sigma.MoveToOuterDisposeScope(),
            mean.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Draws K candidates x_{t-1} = mu + sigma z from one posterior, with independent z from one
    /// <c>randn([K, B, ...])</c> call on <paramref name="generator"/> (the same numbers as K successive
    /// draws of [B, ...]).
    /// </summary>
    /// <param name="posterior">The posterior of x_t.</param>
    /// <param name="candidates">K &gt;= 1.</param>
    /// <param name="generator">The run's generator (on the posterior's device); null uses torch's global generator.</param>
    /// <returns>[K, B, ...], the dtype of the mean, detached from autograd.</returns>
    public static Tensor Draw(DdimPosterior posterior, int candidates, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(posterior);
        if (candidates < 1)
            throw new ArgumentOutOfRangeException(nameof(candidates), candidates, $"Argument 'candidates' must be >= 1; got {candidates}.");
        using var scope = NewDisposeScope();
        var mean = posterior.Mean.detach();
        long[] shape = [candidates, .. mean.shape];
        var noise = randn(shape, dtype: mean.dtype, device: mean.device, generator: generator);
        return FromNoiseCore(mean.unsqueeze(0), posterior.Sigma.detach(), noise, leading: 1).MoveToOuterDisposeScope();
    }

    /// <summary>x_{t-1} = mu + sigma * noise for given standard-normal noise (diffusers' <c>variance_noise</c>).</summary>
    /// <param name="posterior">The posterior of x_t.</param>
    /// <param name="noise">z, the shape of the mean [B, ...] or [K, B, ...].</param>
    public static Tensor FromNoise(DdimPosterior posterior, Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(posterior);
        TensorGuard.Floating(noise, nameof(noise));
        var mean = posterior.Mean;
        var leading = (int)(noise.dim() - mean.dim());
        if (leading is not (0 or 1) || !noise.shape.Skip(leading).SequenceEqual(mean.shape))
            throw new ArgumentException(
                $"Argument 'noise' has shape {TensorGuard.Shape(noise)}; expected the mean's shape {TensorGuard.Shape(mean)} or [K, {string.Join(", ", mean.shape)}].",
                nameof(noise));
        using var scope = NewDisposeScope();
        var m = leading == 1 ? mean.unsqueeze(0) : mean;
        return FromNoiseCore(m, posterior.Sigma, noise, leading).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Element-mean Gaussian log-density of a given x_{t-1}:
    /// mean over all non-batch elements of -(x - mu)^2 / (2 sigma^2) - log sigma - log sqrt(2 pi).
    /// Gradients flow to whichever inputs require them (normally the mean).
    /// </summary>
    /// <param name="sample">x_{t-1}, the shape of <paramref name="mean"/> [B, ...] or [K, B, ...] for K candidates.</param>
    /// <param name="mean">mu(x_t), [B, ...].</param>
    /// <param name="sigma">sigma_t per batch element, [B]; must be &gt; 0 (eta &gt; 0).</param>
    /// <returns>[B] (or [K, B]); float32, or float64 for float64 inputs.</returns>
    /// <exception cref="ArgumentException">A shape mismatch, or sigma = 0 (eta = 0: the density is undefined).</exception>
    /// <exception cref="Errors.NonFiniteValueException">The result is NaN or infinite (e.g. NaN in the inputs).</exception>
    public static Tensor LogProbability(Tensor sample, Tensor mean, Tensor sigma)
    {
        var leading = CheckDensityArguments(sample, mean, sigma);
        using var scope = NewDisposeScope();
        var type = DensityType(sample, mean);
        var x = As(sample, type);
        var mu = As(mean, type);
        if (leading == 1) mu = mu.unsqueeze(0);
        var s = As(sigma, type);
        if (leading == 1) s = s.unsqueeze(0);
        var reduceDims = Enumerable.Range(leading + 1, (int)mean.dim() - 1).Select(d => (long)d).ToArray();
        var meanSquare = reduceDims.Length == 0 ? (x - mu).square() : (x - mu).square().mean(reduceDims);
        var logp = -meanSquare / (2.0 * s.square()) - s.log() - HalfLogTwoPi;
        CheckSigmaAndResult(sigma, logp, "the DDIM log-probability (check 'sample', 'mean' and 'sigma' for NaN)");
        return logp.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// h = log pi_theta(x_{t-1} | x_t) - log pi_ref(x_{t-1} | x_t) for Gaussians sharing sigma:
    /// -(mean((x - mu)^2) - mean((x - mu_ref)^2)) / (2 sigma^2), evaluated as
    /// -mean((mu_ref - mu)(2x - mu - mu_ref)) / (2 sigma^2) so that it is exactly 0 when the means agree.
    /// </summary>
    /// <param name="sample">x_{t-1}, [B, ...] or [K, B, ...].</param>
    /// <param name="mean">mu_theta(x_t) under the current weights, [B, ...].</param>
    /// <param name="referenceMean">mu_ref(x_t) under the reference weights, [B, ...] (normally detached).</param>
    /// <param name="sigma">sigma_t, [B], &gt; 0.</param>
    /// <returns>[B] (or [K, B]).</returns>
    public static Tensor LogRatio(Tensor sample, Tensor mean, Tensor referenceMean, Tensor sigma)
    {
        var leading = CheckDensityArguments(sample, mean, sigma);
        TensorGuard.Floating(referenceMean, nameof(referenceMean));
        TensorGuard.SameShape(referenceMean, nameof(referenceMean), mean, nameof(mean));
        using var scope = NewDisposeScope();
        var type = DensityType(sample, mean);
        var x = As(sample, type);
        var mu = As(mean, type);
        var muRef = As(referenceMean, type);
        var s = As(sigma, type);
        if (leading == 1)
        {
            mu = mu.unsqueeze(0);
            muRef = muRef.unsqueeze(0);
            s = s.unsqueeze(0);
        }
        var reduceDims = Enumerable.Range(leading + 1, (int)mean.dim() - 1).Select(d => (long)d).ToArray();
        var product = (muRef - mu) * (2.0 * x - mu - muRef);
        var meanProduct = reduceDims.Length == 0 ? product : product.mean(reduceDims);
        var h = -meanProduct / (2.0 * s.square());
        CheckSigmaAndResult(sigma, h, "the DDIM log-ratio (check 'sample', 'mean', 'referenceMean' and 'sigma' for NaN)");
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>Rejects eta outside [0, 1], or eta = 0 when <paramref name="requirePositive"/> (log-probabilities).</summary>
    internal static void CheckEta(double eta, bool requirePositive)
    {
        if (!double.IsFinite(eta) || eta < 0 || eta > 1)
            throw new ArgumentOutOfRangeException(nameof(eta), eta,
                $"Argument 'eta' must lie in [0, 1] (1 = the paper's stochastic DDIM, 0 = deterministic DDIM); got {eta}.");
        if (requirePositive && eta == 0)
            throw new ArgumentOutOfRangeException(nameof(eta), eta,
                "Argument 'eta' is 0: sigma_t = 0 and log-probabilities of DDIM steps are undefined. Use eta > 0 (the paper, DDPO and D3PO use 1.0).");
    }

    private Tensor PredictOriginalCore(Tensor sample, Tensor noisePrediction, Tensor alpha)
    {
        var x0 = (sample - Broadcast((1.0 - alpha).sqrt(), sample) * noisePrediction) / Broadcast(alpha.sqrt(), sample);
        if (Schedule.Config.ClipSample)
            x0 = x0.clamp(-Schedule.Config.ClipSampleRange, Schedule.Config.ClipSampleRange);
        return x0;
    }

    private static Tensor SigmaCore(Tensor alpha, Tensor alphaPrev, double eta)
    {
        var variance = (1.0 - alphaPrev) / (1.0 - alpha) * (1.0 - alpha / alphaPrev);
        return eta * variance.sqrt();
    }

    private static Tensor FromNoiseCore(Tensor mean, Tensor sigma, Tensor noise, int leading)
    {
        var s = sigma.to_type(mean.dtype);
        long[] shape = [.. Enumerable.Repeat(1L, leading), s.shape[0], .. Enumerable.Repeat(1L, (int)mean.dim() - leading - 1)];
        return mean + s.reshape(shape) * noise.to_type(mean.dtype);
    }

    /// <summary>[B] coefficients reshaped to [B, 1, ..., 1] in the sample's dtype.</summary>
    private static Tensor Broadcast(Tensor perElement, Tensor like)
    {
        long[] shape = [perElement.shape[0], .. Enumerable.Repeat(1L, (int)like.dim() - 1)];
        return perElement.to_type(like.dtype).reshape(shape);
    }

    /// <summary>
    /// [N + 1] float32 on <paramref name="device"/>: index t + 1 holds abar_t, index 0 the final abar
    /// (used when t' &lt; 0). Made once per device and kept outside every dispose scope.
    /// </summary>
    private Tensor AlphaTable(Device device)
    {
        var key = device.ToString();
        lock (_alphaTables)
        {
            if (_alphaTables.TryGetValue(key, out var table)) return table;
            var values = new float[Schedule.NumTrainTimesteps + 1];
            values[0] = Schedule.FinalAlphaCumprod;
            for (var i = 0; i < Schedule.NumTrainTimesteps; i++) values[i + 1] = Schedule.AlphaCumprod(i);
            table = tensor(values, ScalarType.Float32, device).DetachFromDisposeScope();
            _alphaTables[key] = table;
            return table;
        }
    }

    private static ScalarType ComputeType(Tensor sample) =>
        sample.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    private static ScalarType DensityType(Tensor sample, Tensor mean) =>
        sample.dtype == ScalarType.Float64 || mean.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <summary>
    /// t and t' as int64 [B] and abar_t, abar_t' as [B] of <paramref name="type"/>, all on
    /// <paramref name="device"/>, computed there (no device-to-host copy).
    /// </summary>
    private (Tensor T, Tensor TPrevious, Tensor Alpha, Tensor AlphaPrevious) Coefficients(
        Tensor timesteps, long batch, string name, ScalarType type, Device device)
    {
        TensorGuard.Integral(timesteps, name);
        if (timesteps.dim() > 1 || (timesteps.dim() == 1 && timesteps.shape[0] != batch))
            throw new ArgumentException(
                $"Argument '{name}' has shape {TensorGuard.Shape(timesteps)}; expected [{batch}] (one timestep per batch element) or a 0-d tensor.", name);
        if (timesteps.device.type == TorchSharp.DeviceType.CPU)
        {
            // Reading a CPU tensor is a memory read, not a synchronisation: keep the friendly error there.
            var n = Schedule.NumTrainTimesteps;
            foreach (var value in timesteps.detach().to_type(ScalarType.Int64).contiguous().data<long>())
            {
                if (value < 0 || value >= n)
                    throw new ArgumentOutOfRangeException(name, value, $"Argument '{name}' holds timestep {value}; expected values in [0, {n - 1}].");
            }
        }
        // A copy, so that the posterior's timesteps never alias the caller's tensor.
        var t = timesteps.detach().to(ScalarType.Int64, device, copy: true).reshape(-1);
        if (timesteps.dim() == 0) t = t.expand(batch).contiguous();
        var previous = t - Timesteps.StepRatio;
        var table = AlphaTable(device);
        var alpha = table.index_select(0, t + 1).to_type(type);
        var alphaPrevious = table.index_select(0, previous.clamp_min(-1) + 1).to_type(type);
        return (t, previous, alpha, alphaPrevious);
    }

    private static void CheckSampleAndNoise(Tensor sample, Tensor noisePrediction)
    {
        TensorGuard.Floating(sample, nameof(sample));
        TensorGuard.Floating(noisePrediction, nameof(noisePrediction));
        if (sample.dim() < 1 || sample.shape[0] < 1)
            throw new ArgumentException($"Argument 'sample' has shape {TensorGuard.Shape(sample)}; expected [B, ...] with B >= 1.", nameof(sample));
        TensorGuard.SameShape(noisePrediction, nameof(noisePrediction), sample, nameof(sample));
        TensorGuard.SameDevice(noisePrediction, nameof(noisePrediction), sample, nameof(sample));
    }

    private static int CheckDensityArguments(Tensor sample, Tensor mean, Tensor sigma)
    {
        TensorGuard.Floating(sample, nameof(sample));
        TensorGuard.Floating(mean, nameof(mean));
        TensorGuard.Floating(sigma, nameof(sigma));
        if (mean.dim() < 1)
            throw new ArgumentException($"Argument 'mean' has shape {TensorGuard.Shape(mean)}; expected [B, ...].", nameof(mean));
        var leading = (int)(sample.dim() - mean.dim());
        if (leading is not (0 or 1) || !sample.shape.Skip(leading).SequenceEqual(mean.shape))
            throw new ArgumentException(
                $"Argument 'sample' has shape {TensorGuard.Shape(sample)}; expected the mean's shape {TensorGuard.Shape(mean)} or [K, {string.Join(", ", mean.shape)}] for K candidates.",
                nameof(sample));
        if (sigma.dim() != 1 || sigma.shape[0] != mean.shape[0])
            throw new ArgumentException(
                $"Argument 'sigma' has shape {TensorGuard.Shape(sigma)}; expected [{mean.shape[0]}] (one sigma per batch element).", nameof(sigma));
        TensorGuard.SameDevice(sample, nameof(sample), mean, nameof(mean));
        TensorGuard.SameDevice(sigma, nameof(sigma), mean, nameof(mean));
        return leading;
    }

    /// <summary>
    /// sigma &gt; 0 and a finite density, with ONE host read (checked after the arithmetic, which costs less than a second
    /// read). Inside a <see cref="Errors.DeferredFiniteChecks"/> batch only the result's finiteness is recorded: sigma = 0
    /// makes both densities non-finite, and a negative sigma enters the log-ratio only squared (the log-probability's
    /// log sigma is NaN), so the deferred check still catches every sigma that changes a result.
    /// </summary>
    private static void CheckSigmaAndResult(Tensor sigma, Tensor result, string what)
    {
        if (Errors.DeferredFiniteChecks.Current is not null)
        {
            TensorGuard.Finite(result, what);
            return;
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            if ((sigma > 0).all().logical_and(result.isfinite().all()).item<bool>()) return;
        }
        CheckSigmaPositive(sigma);
        TensorGuard.Finite(result, what);
    }

    private static void CheckSigmaPositive(Tensor sigma)
    {
        using var scope = NewDisposeScope();
        var s = sigma.detach();
        if ((s > 0).all().item<bool>()) return;
        var values = s.cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        throw new ArgumentException(
            $"Argument 'sigma' is [{string.Join(", ", values.Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))}]; " +
            "every sigma must be > 0. sigma = 0 means eta = 0 (deterministic DDIM), where log-probabilities are undefined: sample with eta > 0 (the paper uses 1.0).",
            nameof(sigma));
    }

    // A new handle costs a native call even when the dtype already matches; on small posteriors that shows.
    private static Tensor As(Tensor t, ScalarType type) => t.dtype == type ? t : t.to_type(type);
}
