namespace TailorPO.Training.Options;

/// <summary>
/// The names of the built-in methods (<see cref="TailorPOTrainingOptions.Method"/>). A method of your own is selected
/// by the name you register it under (<c>AddTailorPOTraining(...).AddMethod(name, factory)</c>).
/// </summary>
public static class TrainingMethods
{
    /// <summary>TailorPO (the paper's Algorithm 1 without guidance): K candidates from the SAME x_t ranked by the step reward.</summary>
    public const string TailorPO = "tailorpo";

    /// <summary>TailorPO-G: TailorPO plus reward-gradient guidance of the preferred sample (needs a guiding refiner and a differentiable reward).</summary>
    public const string TailorPOGuided = "tailorpo-g";

    /// <summary>D3PO: two trajectories ranked by their final reward, DPO at the trained steps with the ratio clamp.</summary>
    public const string D3po = "d3po";

    /// <summary>DDPO: PPO-clip policy gradient with per-prompt reward statistics.</summary>
    public const string Ddpo = "ddpo";

    /// <summary>Diffusion-DPO: offline image pairs, noised with the forward process, DPO on denoising errors.</summary>
    public const string DiffusionDpo = "diffusion-dpo";

    /// <summary>The five built-in names.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = [TailorPO, TailorPOGuided, D3po, Ddpo, DiffusionDpo];
}
