namespace TailorPO.Samples.Comparison;

/// <summary>
/// How large <c>compare</c> runs: the per-run image budget, the evaluation set and the analysis sample counts. Two fixed
/// sizings: <see cref="Full"/> (the committed docs/results.md, about 1.5 hours on 2 cores) and <see cref="Quick"/>
/// (every section on a token budget in minutes, for the test). Both use the same code paths.
/// </summary>
public sealed record ComparisonSizing
{
    /// <summary>"quick" or "full".</summary>
    public required string Name { get; init; }

    /// <summary>DDIM steps of every run and analysis (the paper: 20; halved here for CPU time).</summary>
    public required int Steps { get; init; }

    /// <summary>T_finetune of the method comparison (the paper: 5 of 20 steps).</summary>
    public required int TrainedSteps { get; init; }

    /// <summary>
    /// Final images each training run generates (the budget rule of <see cref="ComparisonPage"/>). Every stage's share
    /// is a multiple of 4 x <see cref="Batch"/> so that D3PO (two collected batches, two trajectories per prompt) and
    /// DDPO stop exactly on it, as TailorPO (one image per prompt) and Diffusion-DPO (one pair per prompt) do.
    /// </summary>
    public required int Budget { get; init; }

    /// <summary>
    /// Evaluation points along the budget (the reward-vs-images curve has these plus the base model). Each costs a full
    /// evaluation per run - on this machine about a sixth of a 32-image stage's training - so the full sizing evaluates every
    /// 32 images (4 points).
    /// </summary>
    public required int Stages { get; init; }

    /// <summary>Prompts per batch (the paper: 2).</summary>
    public int Batch { get; init; } = 2;

    /// <summary>Training seeds: every configuration is trained once per seed.</summary>
    public required IReadOnlyList<long> Seeds { get; init; }

    /// <summary>Held-out prompts of the evaluation (and half as many training prompts for the prompt-generalisation check).</summary>
    public required int EvaluationPrompts { get; init; }

    /// <summary>Evaluation seeds per prompt.</summary>
    public required int EvaluationSeeds { get; init; }

    /// <summary>Section 2: prompts (pairs of trajectories) per setting.</summary>
    public required int DisagreementPairs { get; init; }

    /// <summary>Section 3: noisy samples per trained step.</summary>
    public required int GuidanceSamples { get; init; }

    /// <summary>Section 4: prompts whose trajectories are probed.</summary>
    public required int EstimatePrompts { get; init; }

    /// <summary>Section 4: Monte-Carlo continuations per x_t (the paper: 100).</summary>
    public required int Continuations { get; init; }

    /// <summary>Section 7: the T_finetune values tried.</summary>
    public required IReadOnlyList<int> TrainedStepChoices { get; init; }

    /// <summary>Section 7: constant guidance etas tried (besides the paper's cosine schedule).</summary>
    public required IReadOnlyList<double> GuidanceEtas { get; init; }

    /// <summary>The full run of docs/results.md.</summary>
    public static ComparisonSizing Full { get; } = new()
    {
        Name = "full",
        Steps = 10,
        TrainedSteps = 5,
        Budget = 128,
        Stages = 4,
        Seeds = [0, 1, 2],
        EvaluationPrompts = 6,
        EvaluationSeeds = 3,
        DisagreementPairs = 24,
        GuidanceSamples = 12,
        EstimatePrompts = 4,
        Continuations = 8,
        TrainedStepChoices = [1, 5, 10],
        GuidanceEtas = [0.5],
    };

    /// <summary>Every section on a token budget (the end-to-end test): numbers, not evidence.</summary>
    public static ComparisonSizing Quick { get; } = new()
    {
        Name = "quick",
        Steps = 3,
        TrainedSteps = 1,
        Budget = 4,
        Stages = 1,
        Batch = 1,
        Seeds = [0, 1],
        EvaluationPrompts = 2,
        EvaluationSeeds = 2,
        DisagreementPairs = 2,
        GuidanceSamples = 2,
        EstimatePrompts = 1,
        Continuations = 2,
        TrainedStepChoices = [1, 3],
        GuidanceEtas = [0.5],
    };
}
