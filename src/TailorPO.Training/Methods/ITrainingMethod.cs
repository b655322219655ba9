namespace TailorPO.Training.Methods;

/// <summary>
/// One method's iteration over a batch of prompts: sample, rank, and call <see cref="TrainerContext.Update"/> for every
/// loss. The trainer owns everything around it (budget, prompts, optimizer, guard, checkpoints, metrics).
/// </summary>
public interface ITrainingMethod
{
    /// <summary>The method's name in metrics and checkpoints, e.g. "tailorpo".</summary>
    string Name { get; }

    /// <summary>Final images one iteration over <paramref name="batchSize"/> prompts generates (the sample-budget count).</summary>
    int SamplesPerIteration(int batchSize);

    /// <summary>Runs one iteration. Cancellation is observed between denoising steps.</summary>
    void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken);
}
