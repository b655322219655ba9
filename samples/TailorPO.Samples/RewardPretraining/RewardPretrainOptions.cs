namespace TailorPO.Samples.RewardPretraining;

/// <summary>Settings of a <see cref="RewardPretrainer"/> run. Defaults reproduce the embedded preference model.</summary>
public sealed record RewardPretrainOptions
{
    /// <summary>The CLIPModel folder written (float16), replaced atomically.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>Folder with the CLIP tokenizer files (vocab.json, merges.txt) copied into the model.</summary>
    public required string TokenizerFolder { get; init; }

    /// <summary>The architecture.</summary>
    public PreferenceModelDesign Design { get; init; } = new();

    /// <summary>Seed of the dataset and the initial weights.</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 1800;

    /// <summary>Images per step (the symmetric InfoNCE runs over them and their captions).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Peak AdamW learning rate (after a linear warm-up, then a cosine decay to a tenth).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gradient-norm clip.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Weight of the per-image hard-negative cross-entropy next to the InfoNCE loss.</summary>
    public double HardNegativeWeight { get; init; } = 1.0;

    /// <summary>
    /// Weight of the shape term inside the hard-negative loss (the colour and pattern terms weigh 1): shapes are
    /// small details and the hardest attribute to separate.
    /// </summary>
    public double ShapeWeight { get; init; } = 3.0;

    /// <summary>How training images are degraded towards what a small diffusion model draws (default: not at all, as the committed model was trained).</summary>
    public GeneratorLikeDegradation Degradation { get; init; } = GeneratorLikeDegradation.None;

    /// <summary>Held-out images of the retrieval report (0 skips it).</summary>
    public int EvaluationImages { get; init; } = 256;

    /// <summary>Stop (and write the model) after this much wall time; null runs every step.</summary>
    public TimeSpan? TimeLimit { get; init; }
}

/// <summary>Progress of a reward pretraining run, reported after every step.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">All steps.</param>
/// <param name="Loss">This step's loss (InfoNCE + weighted hard-negative cross-entropy).</param>
/// <param name="AverageLoss">Mean loss over the last 50 steps.</param>
/// <param name="ShapeAccuracy">Over the last 50 steps: how often the true caption had the highest score among it and its one-shape-off captions (training images).</param>
/// <param name="LogitScale">exp(logit_scale).</param>
/// <param name="LearningRate">This step's learning rate.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record RewardPretrainProgress(int Step, int TotalSteps, double Loss, double AverageLoss, double ShapeAccuracy, double LogitScale, double LearningRate, TimeSpan Elapsed);
