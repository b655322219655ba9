namespace TailorPO.Training.Options;

/// <summary>
/// Where TailorPO's two ranked samples come from. The paper's method draws them from the SAME x_t; the other setting is
/// the first row of its ablation (Table 10, "step-level ranking" only), kept so that the contribution of the shared
/// input can be measured on its own.
/// </summary>
public enum TailorPOPairing
{
    /// <summary>The paper's TailorPO (Eq. 10): K candidates x_{t-1} from ONE x_t, ranked by step reward; the preferred one continues.</summary>
    SameInput,

    /// <summary>
    /// Table 10's "step-level ranking" ablation: two trajectories per prompt from DIFFERENT x_T; at each trained step
    /// their samples x^0_{t-1} (from x^0_t) and x^1_{t-1} (from x^1_t) are ranked by step reward and the DPO loss is
    /// conditioned on the two different inputs (D3PO's form, Eq. 5, with TailorPO's step-wise ranking). Both
    /// trajectories continue, so each prompt generates two final images (the budget counts both). TailorPO only
    /// (no guidance), online loop only, K = 2.
    /// </summary>
    DifferentInputs,
}
