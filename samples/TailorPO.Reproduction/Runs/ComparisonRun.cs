using System.Globalization;

namespace TailorPO.Reproduction.Runs;

/// <summary>
/// One training configuration of the harness for one seed. Sections share runs by <see cref="Key"/>: the learning-rate
/// sweep's runs at the chosen rate are the method comparison's runs, and sections 4-7 reuse them instead of training
/// again. A run is trained to the largest image count any section asks of it (its evaluation points), resuming from its
/// checkpoint between points.
/// </summary>
/// <param name="Method">A library method name (tailorpo, tailorpo-g, d3po, ddpo, diffusion-dpo).</param>
/// <param name="Reward">A reward name of <see cref="RunTraining.Rewards"/>.</param>
/// <param name="Seed">The training seed.</param>
/// <param name="TrainedSteps">T_finetune.</param>
/// <param name="LearningRate">AdamW's learning rate.</param>
/// <param name="Pairing">TailorPO's pairing: same-input (the paper) or different-inputs (Table 10's first row).</param>
/// <param name="GuidanceEta">TailorPO-G: a constant eta, or null for the paper's cosine schedule.</param>
public sealed record ComparisonRun(string Method, string Reward, long Seed, int TrainedSteps, double LearningRate, string Pairing = "same-input",
    double? GuidanceEta = null)
{
    /// <summary>A stable folder name: every field that changes training appears in it.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{Method}{(Pairing == "same-input" ? "" : "-" + Pairing)}-{Reward}-T{TrainedSteps}-lr{LearningRate:0.####E0}" +
        $"{(GuidanceEta is { } eta ? $"-eta{eta:0.###}" : "")}-seed{Seed}");

    /// <summary>
    /// Final images per optimizer update relative to TailorPO's: 2 for the methods that spend two trajectories on one
    /// pair (D3PO, Diffusion-DPO's offline pairs, the different-inputs ablation), 1 for TailorPO/-G (one trajectory, its
    /// pair drawn at the trained step) and DDPO (one rollout per advantage-weighted sample). With gradient accumulation 1,
    /// every method makes T_finetune updates per batch of pairs or samples; this factor is what equal updates multiply the
    /// image budget by.
    /// </summary>
    public int ImagesPerUpdateFactor => Method is "d3po" or "diffusion-dpo" || Pairing == "different-inputs" ? 2 : 1;

    /// <summary>The same configuration with another seed.</summary>
    public ComparisonRun WithSeed(long seed) => this with { Seed = seed };
}
