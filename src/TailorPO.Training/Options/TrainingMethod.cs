namespace TailorPO.Training.Options;

/// <summary>The preference-optimisation method a trainer runs.</summary>
public enum TrainingMethod
{
    /// <summary>TailorPO (the paper's Algorithm 1 without guidance): K candidates from the SAME x_t ranked by the step reward.</summary>
    TailorPO,

    /// <summary>TailorPO-G: TailorPO plus reward-gradient guidance of the preferred sample (needs a differentiable reward).</summary>
    TailorPOG,

    /// <summary>D3PO: two trajectories ranked by their final reward, DPO at the trained steps with the ratio clamp.</summary>
    D3po,

    /// <summary>DDPO: PPO-clip policy gradient with per-prompt reward statistics.</summary>
    Ddpo,

    /// <summary>Diffusion-DPO: offline image pairs, noised with the forward process, DPO on denoising errors.</summary>
    DiffusionDpo,
}
