namespace TailorPO.Reproduction.Runs;

/// <summary>
/// How large the harness runs: the budgets, the learning-rate grid, the seeds, the evaluation set and the analyses'
/// sample counts. Two fixed sizings: <see cref="Full"/> (docs/results.md; planned to fit 3 hours of this project's
/// 2-core machine, the quick run prints its estimate) and <see cref="Quick"/> (every section on a token budget, the
/// end-to-end test). Both run the same code.
/// </summary>
public sealed record ComparisonSizing
{
    /// <summary>"quick" or "full".</summary>
    public required string Name { get; init; }

    /// <summary>DDIM steps of every run and of sections 2, 3 (the paper: 20; halved here for CPU time).</summary>
    public required int Steps { get; init; }

    /// <summary>T_finetune of the method comparison (the paper: 5 of 20 steps).</summary>
    public required int TrainedSteps { get; init; }

    /// <summary>
    /// The equal-images budget: final images each run generates (<see cref="Budgets"/>). A multiple of
    /// <see cref="Stages"/> x <see cref="Granularity"/>, so every stage ends on a whole iteration of every method.
    /// </summary>
    public required int Budget { get; init; }

    /// <summary>Evaluation points along the equal-images budget (the reward-vs-images curve has these plus the base model).</summary>
    public required int Stages { get; init; }

    /// <summary>Prompts per batch (the paper: 2).</summary>
    public int Batch { get; init; } = 2;

    /// <summary>
    /// The image count every evaluation point is a multiple of: 4 x <see cref="Batch"/>, the images of one D3PO iteration
    /// (two collected batches of two trajectories per prompt), so every method stops exactly on it.
    /// </summary>
    public int Granularity => 4 * Batch;

    /// <summary>Training seeds: every configuration is trained once per seed (at least 2, for a variance).</summary>
    public required IReadOnlyList<long> Seeds { get; init; }

    /// <summary>The learning-rate grid every method is swept over (the same for all).</summary>
    public required IReadOnlyList<double> LearningRates { get; init; }

    /// <summary>
    /// The learning-rate grid of the headline section's learned preference reward (the same for every method). Lower than
    /// <see cref="LearningRates"/>: at the colourfulness grid's rates TailorPO lowers the held-out preference score (a
    /// partial full run on 2026-12-07: 26.76 at 16 images to 25.91 at 64, lr 2e-3, five seeds), as align's own sweep found.
    /// </summary>
    public required IReadOnlyList<double> PreferenceLearningRates { get; init; }

    /// <summary>Seeds of the sweep (the first of <see cref="Seeds"/>, so the chosen rate's sweep runs are comparison runs).</summary>
    public required int SweepSeeds { get; init; }

    /// <summary>Held-out prompts of the evaluation (and half as many training prompts, which the sweep decides on).</summary>
    public required int EvaluationPrompts { get; init; }

    /// <summary>Evaluation seeds per prompt.</summary>
    public required int EvaluationSeeds { get; init; }

    /// <summary>Section 2: prompts (pairs of trajectories) per setting.</summary>
    public required int DisagreementPairs { get; init; }

    /// <summary>Section 3: noisy samples per trained step.</summary>
    public required int GuidanceSamples { get; init; }

    /// <summary>Section 4 (Table 6): DDIM steps of the probed trajectories (the paper: 20).</summary>
    public required int EstimateSteps { get; init; }

    /// <summary>Section 4: prompts whose trajectories are probed.</summary>
    public required int EstimatePrompts { get; init; }

    /// <summary>Section 4: Monte-Carlo continuations per x_t (the paper: 100).</summary>
    public required int Continuations { get; init; }

    /// <summary>Section 4's extra all-steps table: Monte-Carlo continuations per x_t at every step.</summary>
    public required int AllStepsContinuations { get; init; }

    /// <summary>Section 4 and 2-3: analysis seeds (the first this many of <see cref="Seeds"/>).</summary>
    public required int AnalysisSeeds { get; init; }

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
        Budget = 48,
        Stages = 2,
        Seeds = [0, 1, 2, 3, 4],
        LearningRates = [1e-3, 2e-3, 4e-3],
        PreferenceLearningRates = [2.5e-4, 5e-4, 1e-3],
        SweepSeeds = 1,
        EvaluationPrompts = 6,
        EvaluationSeeds = 3,
        DisagreementPairs = 24,
        GuidanceSamples = 12,
        EstimateSteps = 20,
        EstimatePrompts = 4,
        Continuations = 100,
        AllStepsContinuations = 4,
        AnalysisSeeds = 2,
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
        // One rate: the sweep's code runs, its choice is unit-tested, and the quick test stays short.
        LearningRates = [2e-3],
        PreferenceLearningRates = [5e-4],
        SweepSeeds = 1,
        EvaluationPrompts = 2,
        EvaluationSeeds = 2,
        DisagreementPairs = 2,
        GuidanceSamples = 2,
        EstimateSteps = 4,
        EstimatePrompts = 1,
        Continuations = 2,
        AllStepsContinuations = 2,
        AnalysisSeeds = 2,
        TrainedStepChoices = [1, 3],
        GuidanceEtas = [0.5],
    };
}
