namespace TailorPO.Samples.Pretraining;

/// <summary>Settings of a <see cref="Pretrainer"/> run. Defaults reproduce the embedded model.</summary>
public sealed record PretrainOptions
{
    /// <summary>The diffusers folder written (EMA weights, float16), replaced atomically at every checkpoint.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>Training state (raw and EMA weights in float32, optimizer state, loss log) for <see cref="Resume"/>.</summary>
    public required string StateFolder { get; init; }

    /// <summary>Folder with the CLIP tokenizer files (vocab.json, merges.txt) copied into the model.</summary>
    public required string TokenizerFolder { get; init; }

    /// <summary>The architecture.</summary>
    public TinyModelDesign Design { get; init; } = new();

    /// <summary>Seed of the dataset, the initial weights, the noise, the timesteps and the caption dropout.</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak AdamW learning rate (after a linear warm-up, then a cosine decay to a tenth).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Decay of the exponential moving average of the weights (the exported weights).</summary>
    public double EmaDecay { get; init; } = 0.995;

    /// <summary>Fraction of captions replaced by the empty prompt, so classifier-free guidance works.</summary>
    public double CaptionDropout { get; init; } = 0.1;

    /// <summary>
    /// Cap of the per-sample loss weight <c>clamp(1 / SNR(t), 1, cap)</c> on the epsilon MSE (default 20); 1 is
    /// the plain epsilon MSE. See <see cref="Pretrainer.LossWeights"/>.
    /// </summary>
    public double SnrWeightCap { get; init; } = 20.0;

    /// <summary>Gradient-norm clip.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Steps between checkpoints (model folder + training state).</summary>
    public int CheckpointEvery { get; init; } = 200;

    /// <summary>Continue from <see cref="StateFolder"/> when it holds a checkpoint.</summary>
    public bool Resume { get; init; }

    /// <summary>Stop (with a checkpoint) after this much wall time; null runs every step.</summary>
    public TimeSpan? TimeLimit { get; init; }
}
