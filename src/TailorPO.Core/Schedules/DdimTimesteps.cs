namespace TailorPO.Core.Schedules;

/// <summary>
/// The inference timesteps of a DDIM run, first (noisiest) to last, as diffusers'
/// <c>DDIMScheduler.set_timesteps</c> lays them out, and the previous-timestep rule of its
/// <c>step</c>: <c>t' = t - N // n</c> for every spacing (a negative t' means "after the last
/// step" and uses <see cref="NoiseSchedule.FinalAlphaCumprod"/>).
/// </summary>
public sealed class DdimTimesteps
{
    private readonly long[] _values;

    /// <summary>Lays out <paramref name="inferenceSteps"/> timesteps.</summary>
    /// <param name="config">The scheduler configuration (N, <c>steps_offset</c>, spacing).</param>
    /// <param name="inferenceSteps">n, the number of denoising steps (the paper and D3PO use 20).</param>
    /// <param name="spacing">Overrides the configuration's <c>timestep_spacing</c> when set.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inferenceSteps"/> is outside [1, N], or the
    /// layout would leave [0, N-1] (e.g. leading spacing with <c>steps_offset</c> and n = N).</exception>
    public DdimTimesteps(SchedulerConfig config, int inferenceSteps, TimestepSpacing? spacing = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var n = config.NumTrainTimesteps;
        if (inferenceSteps < 1 || inferenceSteps > n)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                $"Argument 'inferenceSteps' must lie in [1, {n}] (num_train_timesteps of '{config.Source}'); got {inferenceSteps}.");

        NumTrainTimesteps = n;
        InferenceSteps = inferenceSteps;
        Spacing = spacing ?? config.TimestepSpacing;
        StepRatio = n / inferenceSteps;
        _values = Spacing switch
        {
            TimestepSpacing.Leading => Leading(n, inferenceSteps, config.StepsOffset),
            TimestepSpacing.Trailing => Trailing(n, inferenceSteps),
            TimestepSpacing.Linspace => Linspace(n, inferenceSteps),
            _ => throw new ArgumentOutOfRangeException(nameof(spacing), Spacing, $"Argument 'spacing' has an unknown value {Spacing}."),
        };

        var bad = Array.FindIndex(_values, t => t < 0 || t >= n);
        if (bad >= 0)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                $"{Spacing} spacing with {inferenceSteps} steps and steps_offset {config.StepsOffset} gives timestep {_values[bad]}, outside [0, {n - 1}]; use fewer steps.");
    }

    /// <summary>Number of training timesteps N.</summary>
    public int NumTrainTimesteps { get; }

    /// <summary>Number of inference steps n.</summary>
    public int InferenceSteps { get; }

    /// <summary>The spacing used.</summary>
    public TimestepSpacing Spacing { get; }

    /// <summary><c>N // n</c>: the distance to the previous timestep.</summary>
    public int StepRatio { get; }

    /// <summary>The timesteps, first (noisiest) to last; SD v1.5 with 20 steps: 951, 901, ..., 1.</summary>
    public IReadOnlyList<long> Values => _values;

    /// <summary>Number of inference steps (= <see cref="InferenceSteps"/>).</summary>
    public int Count => _values.Length;

    /// <summary>The timestep of a step index.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepIndex"/> is outside [0, n-1].</exception>
    public long this[int stepIndex]
    {
        get
        {
            if (stepIndex < 0 || stepIndex >= _values.Length)
                throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex,
                    $"Argument 'stepIndex' must lie in [0, {_values.Length - 1}]; got {stepIndex}.");
            return _values[stepIndex];
        }
    }

    /// <summary>The previous timestep t' = t - N // n (negative after the last step), diffusers' rule.</summary>
    public long PreviousTimestep(long timestep) => timestep - StepRatio;

    private static long[] Leading(int n, int steps, int offset)
    {
        var ratio = n / steps;
        var values = new long[steps];
        for (var i = 0; i < steps; i++)
            values[i] = (long)(steps - 1 - i) * ratio + offset;
        return values;
    }

    private static long[] Trailing(int n, int steps)
    {
        // numpy: np.arange(N, 0, -N / n) fills start + i * ((start + step) - start), with
        // ceil((stop - start) / step) elements; then round half to even, minus one.
        var step = -(double)n / steps;
        var length = (long)Math.Ceiling((0.0 - n) / step);
        if (length != steps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"Trailing spacing of {n} training timesteps yields {length} timesteps for {steps} steps (floating-point layout of numpy.arange); choose another step count.");
        var delta = (n + step) - n;
        var values = new long[steps];
        for (var i = 0; i < steps; i++)
            values[i] = (long)Math.Round(n + i * delta, MidpointRounding.ToEven) - 1;
        return values;
    }

    private static long[] Linspace(int n, int steps)
    {
        // numpy: np.linspace(0, N - 1, n) = i * ((N - 1) / (n - 1)), last element exactly N - 1;
        // round half to even; reversed.
        var values = new long[steps];
        var stop = (double)(n - 1);
        var delta = steps > 1 ? stop / (steps - 1) : 0.0;
        for (var i = 0; i < steps; i++)
        {
            var x = steps > 1 && i == steps - 1 ? stop : i * delta;
            values[steps - 1 - i] = (long)Math.Round(x, MidpointRounding.ToEven);
        }
        return values;
    }
}
