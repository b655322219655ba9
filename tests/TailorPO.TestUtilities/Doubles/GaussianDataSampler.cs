using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities.Doubles;

/// <summary>
/// A closed-form stand-in for a UNet + DDIM sampler, for tests of code that sits on the
/// <see cref="ISampler"/> seam. Data are modelled as x0 ~ N(mu_b, s^2 I) with mu_b the mean of batch
/// element b's prompt embeddings, whose exact noise predictor is
/// <c>eps*(x_t) = sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar)</c>; a
/// <c>Nonlinearity * tanh(x_t)</c> term makes it non-linear so that gradient checks see curvature.
/// DDIM steps follow ALGORITHMS.md (SD v1.5 scaled_linear schedule, leading spacing, offset 1).
/// Works in the latents' dtype (float64 for gradient checks) and records every noise-prediction call.
/// </summary>
public sealed class GaussianDataSampler : ISampler
{
    private readonly double[] _alphasCumprod;
    private readonly long[] _timesteps;
    private readonly List<long> _noiseCallBatchSizes = new();

    /// <summary>Creates the sampler.</summary>
    public GaussianDataSampler(int steps = 10, double eta = 1.0, double dataStd = 0.5, double nonlinearity = 0.1)
    {
        var betas = Enumerable.Range(0, 1000)
            .Select(i => Math.Sqrt(0.00085) + (Math.Sqrt(0.012) - Math.Sqrt(0.00085)) * i / 999.0)
            .Select(b => b * b).ToArray();
        _alphasCumprod = new double[1000];
        var product = 1.0;
        for (var i = 0; i < 1000; i++)
        {
            product *= 1 - betas[i];
            _alphasCumprod[i] = product;
        }
        var ratio = 1000 / steps;
        _timesteps = Enumerable.Range(0, steps).Select(i => (long)(i * ratio + 1)).Reverse().ToArray();
        Eta = eta;
        DataStd = dataStd;
        Nonlinearity = nonlinearity;
        StepRatio = ratio;
    }

    /// <inheritdoc />
    public IReadOnlyList<long> Timesteps => _timesteps;

    /// <inheritdoc />
    public double Eta { get; }

    /// <summary>s, the data standard deviation.</summary>
    public double DataStd { get; }

    /// <summary>Weight of the tanh term.</summary>
    public double Nonlinearity { get; }

    /// <summary>1000 / steps.</summary>
    public int StepRatio { get; }

    /// <summary>Batch size of every <see cref="PredictNoise"/> call so far.</summary>
    public IReadOnlyList<long> NoiseCallBatchSizes => _noiseCallBatchSizes;

    /// <summary>abar at a training timestep.</summary>
    public double AlphaCumprod(long timestep) => _alphasCumprod[timestep];

    /// <summary>abar at the inference step index.</summary>
    public double AlphaCumprodAtStep(int stepIndex) => _alphasCumprod[_timesteps[stepIndex]];

    /// <summary>Draws x_t = sqrt(abar) x0 + sqrt(1 - abar) noise for x0 from the data model.</summary>
    public Tensor NoisySample(long[] shape, int stepIndex, DiffusionCondition condition, Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        var abar = AlphaCumprodAtStep(stepIndex);
        var mu = DataMean(condition.PromptEmbeddings, (int)shape.Length, dtype);
        var x0 = mu + DataStd * randn(shape, dtype: dtype, generator: generator);
        return Math.Sqrt(abar) * x0 + Math.Sqrt(1 - abar) * randn(shape, dtype: dtype, generator: generator);
    }

    /// <summary>Forgets the recorded calls.</summary>
    public void ResetCounters() => _noiseCallBatchSizes.Clear();

    /// <inheritdoc />
    public Tensor PredictNoise(Tensor latents, int stepIndex, DiffusionCondition condition) =>
        PredictNoiseAt(latents, _timesteps[stepIndex], condition);

    /// <inheritdoc />
    public long? CandidateTimestep(int stepIndex) => stepIndex + 1 < _timesteps.Length ? _timesteps[stepIndex + 1] : null;

    /// <inheritdoc />
    public Tensor PredictOriginalAt(Tensor latents, long timestep, Tensor noisePrediction)
    {
        var abar = AlphaCumprod(timestep);
        return (latents - Math.Sqrt(1 - abar) * noisePrediction) / Math.Sqrt(abar);
    }

    /// <inheritdoc />
    public Tensor PredictNoiseAt(Tensor latents, long timestep, DiffusionCondition condition)
    {
        _noiseCallBatchSizes.Add(latents.shape[0]);
        if (condition.PromptEmbeddings.shape[0] != latents.shape[0])
            throw new ArgumentException($"condition has {condition.PromptEmbeddings.shape[0]} embeddings for {latents.shape[0]} latents.");
        var abar = AlphaCumprod(timestep);
        var conditional = RawNoise(latents, abar, condition.PromptEmbeddings);
        if (!condition.UsesGuidance)
            return conditional;
        var unconditional = RawNoise(latents, abar, condition.NegativeEmbeddings!);
        return unconditional + condition.GuidanceScale * (conditional - unconditional);
    }

    /// <inheritdoc />
    public Tensor PredictOriginal(Tensor latents, int stepIndex, Tensor noisePrediction)
    {
        var abar = AlphaCumprodAtStep(stepIndex);
        return (latents - Math.Sqrt(1 - abar) * noisePrediction) / Math.Sqrt(abar);
    }

    /// <inheritdoc />
    public SamplerStep Step(Tensor latents, int stepIndex, DiffusionCondition condition, int candidates = 1,
        Generator? generator = null, Tensor? noisePrediction = null)
    {
        var eps = noisePrediction ?? PredictNoise(latents, stepIndex, condition);
        var x0 = PredictOriginal(latents, stepIndex, eps);
        var (mean, sigma) = Posterior(stepIndex, x0, eps);
        var batch = latents.shape[0];
        var shape = new long[] { candidates }.Concat(latents.shape).ToArray();
        var z = randn(shape, dtype: latents.dtype, generator: generator);
        var samples = mean.unsqueeze(0) + sigma * z;
        var logProbabilities = LogProbability(samples, mean.unsqueeze(0), sigma, reduceFrom: 2);
        return new SamplerStep(stepIndex, _timesteps[stepIndex], eps, x0, mean,
            full([batch], sigma, dtype: latents.dtype), samples, logProbabilities);
    }

    /// <inheritdoc />
    public TransitionScore Score(SamplerTransition transition, DiffusionCondition condition)
    {
        var eps = PredictNoise(transition.Latents, transition.StepIndex, condition);
        var x0 = PredictOriginal(transition.Latents, transition.StepIndex, eps);
        var (mean, sigma) = Posterior(transition.StepIndex, x0, eps);
        var logProbability = LogProbability(transition.NextLatents, mean, sigma, reduceFrom: 1);
        return new TransitionScore(mean, full([transition.Latents.shape[0]], sigma, dtype: mean.dtype), logProbability);
    }

    private Tensor RawNoise(Tensor latents, double abar, Tensor embeddings)
    {
        var mu = DataMean(embeddings, (int)latents.dim(), latents.dtype);
        var optimal = Math.Sqrt(1 - abar) * (latents - Math.Sqrt(abar) * mu) / (abar * DataStd * DataStd + 1 - abar);
        return optimal + Nonlinearity * latents.tanh();
    }

    private static Tensor DataMean(Tensor embeddings, int rank, ScalarType dtype)
    {
        var mu = embeddings.to(dtype).flatten(1).mean([1]);
        return mu.reshape([mu.shape[0], .. Enumerable.Repeat(1L, rank - 1)]);
    }

    private (Tensor Mean, double Sigma) Posterior(int stepIndex, Tensor x0, Tensor eps)
    {
        var t = _timesteps[stepIndex];
        var abar = _alphasCumprod[t];
        var previous = t - StepRatio;
        var abarPrev = previous >= 0 ? _alphasCumprod[previous] : _alphasCumprod[0];
        var sigma = Eta * Math.Sqrt((1 - abarPrev) / (1 - abar)) * Math.Sqrt(1 - abar / abarPrev);
        var mean = Math.Sqrt(abarPrev) * x0 + Math.Sqrt(1 - abarPrev - sigma * sigma) * eps;
        return (mean, sigma);
    }

    private static Tensor LogProbability(Tensor samples, Tensor mean, double sigma, int reduceFrom)
    {
        var elementwise = -(samples - mean).square() / (2 * sigma * sigma) - Math.Log(sigma) - Math.Log(Math.Sqrt(2 * Math.PI));
        var dims = Enumerable.Range(reduceFrom, (int)samples.dim() - reduceFrom).Select(d => (long)d).ToArray();
        return elementwise.mean(dims);
    }
}
