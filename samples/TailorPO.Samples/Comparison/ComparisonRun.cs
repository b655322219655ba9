using System.Globalization;
using TailorPO.Samples.Alignment;
using TailorPO.Samples.Cli;
using TailorPO.Shapes;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// One training configuration of <c>compare</c> for one seed. Sections share runs by <see cref="Key"/>: sections 4, 5, 6
/// and 7 reuse the method-comparison runs instead of training them again.
/// </summary>
/// <param name="Method">A CLI method name (tailorpo, tailorpo-g, d3po, ddpo, diffusion-dpo).</param>
/// <param name="Reward">A CLI reward name.</param>
/// <param name="Seed">The training seed.</param>
/// <param name="TrainedSteps">T_finetune.</param>
/// <param name="Pairing">TailorPO's pairing: same-input (the paper) or different-inputs (Table 10's first row).</param>
/// <param name="GuidanceEta">TailorPO-G: a constant eta, or null for the paper's cosine schedule.</param>
public sealed record ComparisonRun(string Method, string Reward, long Seed, int TrainedSteps, string Pairing = "same-input", double? GuidanceEta = null)
{
    /// <summary>A stable folder name: every field that changes training appears in it.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{Method}{(Pairing == "same-input" ? "" : "-" + Pairing)}-{Reward}-T{TrainedSteps}{(GuidanceEta is { } eta ? $"-eta{eta:0.###}" : "")}-seed{Seed}");

    /// <summary>The configuration without the seed (runs that differ only by seed are one table row).</summary>
    public string Configuration => Key[..Key.LastIndexOf("-seed", StringComparison.Ordinal)];

    /// <summary>The align plan of this run under <paramref name="sizing"/>, trained up to <paramref name="budget"/> images.</summary>
    public AlignmentPlan ToPlan(ComparisonSizing sizing, int budget, int threads)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        return new AlignmentPlan
        {
            Method = Method,
            Reward = Reward,
            ModelFolder = Path.GetFullPath(EmbeddedModel.Folder),
            EmbeddedModel = true,
            Budget = budget,
            Seed = Seed,
            Batch = sizing.Batch,
            LearningRate = Commands.AlignSettings.EmbeddedLearningRate,
            LoraRank = 4,
            Steps = sizing.Steps,
            TrainedSteps = TrainedSteps,
            GuidanceScale = ComparisonPage.GuidanceScale,
            Eta = 1.0,
            Beta = 0.1,
            Candidates = 2,
            Device = "cpu",
            DType = "float32",
            EvaluationSeeds = sizing.EvaluationSeeds,
            Threads = threads,
            Pairing = Pairing,
            GuidanceEta = GuidanceEta,
            // The offline set holds as many images as the other methods generate: the budget, as pairs.
            DiffusionDpoGeneratedPairs = Method == "diffusion-dpo" ? Math.Max(1, sizing.Budget / 2) : null,
        };
    }
}
