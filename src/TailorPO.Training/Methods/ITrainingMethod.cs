namespace TailorPO.Training.Methods;

/// <summary>
/// A preference-optimisation method as a plug-in of <see cref="PreferenceTrainer"/>: it checks that the parts and options
/// suit it, and runs one iteration over a batch of prompts (sample, rank, and call <see cref="TrainerContext.Update"/> for
/// every loss). The trainer owns everything around it: budget, prompts, optimizer, non-finite guard, checkpoints and
/// metrics. A method whose state decides later results (per-prompt statistics, an offline pair set) also implements
/// <see cref="Core.Abstractions.IStatefulComponent"/>, and the trainer carries that state in its checkpoints. Register a
/// method with <c>AddTailorPOTraining(...).AddMethod(name, factory)</c> and select it with
/// <see cref="Options.TailorPOTrainingOptions.Method"/>; the five built-ins are registered the same way.
/// </summary>
public interface ITrainingMethod
{
    /// <summary>The method's name in metrics and checkpoints, e.g. "tailorpo".</summary>
    string Name { get; }

    /// <summary>
    /// The problems with the trainer's parts and options for this method (a missing refiner, DDIM eta = 0 where
    /// log-probabilities are needed, an option that does not apply to it), each naming what to change; empty when it
    /// can run. The trainer refuses to start with all of them in one exception.
    /// </summary>
    /// <param name="context">The parts and options the method would run with.</param>
    IEnumerable<string> Validate(TrainerContext context);

    /// <summary>Runs one iteration. Cancellation is observed between denoising steps.</summary>
    void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken);
}
