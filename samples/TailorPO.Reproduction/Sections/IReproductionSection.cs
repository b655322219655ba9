using System.Text;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// One section of docs/results.md, in three separate phases: <see cref="MeasureAsync"/> trains and probes (everything
/// cached in the work folder), <see cref="Analyse"/> turns the measurements into statistics and claims (with their
/// p-values; no verdicts yet, because Holm's correction runs over every claim of the page), and <see cref="Render"/>
/// writes the markdown and the PNGs from the analysis and the page-wide verdicts.
/// </summary>
public interface IReproductionSection
{
    /// <summary>The section's heading, e.g. "## 1. Method comparison (Table 2, Fig. 4)".</summary>
    string Title { get; }

    /// <summary>Trains what is missing and measures; the result is only handed back to <see cref="Analyse"/>.</summary>
    Task<SectionMeasurements> MeasureAsync(ReproductionContext context);

    /// <summary>Statistics and claims from the measurements.</summary>
    SectionAnalysis Analyse(ReproductionContext context, SectionMeasurements measurements);

    /// <summary>The section's markdown (and PNGs), with the claims' verdicts.</summary>
    string Render(ReproductionContext context, SectionAnalysis analysis, ClaimVerdicts verdicts);
}

/// <summary>What a section measured (each section derives its own).</summary>
public abstract record SectionMeasurements;

/// <summary>What a section concluded: its claims (decided page-wide) and whatever its rendering needs.</summary>
/// <param name="Claims">The section's claims, in the order it states them.</param>
public abstract record SectionAnalysis(IReadOnlyList<Claim> Claims);

/// <summary>
/// The typed form sections implement: the interface's untyped hand-offs become the section's own measurement and
/// analysis records, arguments are checked once here, and rendering appends to markdown that already holds the title.
/// </summary>
public abstract class ReproductionSection<TMeasurements, TAnalysis> : IReproductionSection
    where TMeasurements : SectionMeasurements
    where TAnalysis : SectionAnalysis
{
    /// <inheritdoc />
    public abstract string Title { get; }

    /// <summary>Trains what is missing and measures.</summary>
    protected abstract Task<TMeasurements> Measure(ReproductionContext context);

    /// <summary>Statistics and claims.</summary>
    protected abstract TAnalysis Analyse(ReproductionContext context, TMeasurements measurements);

    /// <summary>Appends the section's body (after its title) to <paramref name="md"/> and writes its PNGs.</summary>
    protected abstract void Render(ReproductionContext context, TAnalysis analysis, ClaimVerdicts verdicts, StringBuilder md);

    /// <inheritdoc />
    public async Task<SectionMeasurements> MeasureAsync(ReproductionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await Measure(context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public SectionAnalysis Analyse(ReproductionContext context, SectionMeasurements measurements)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(measurements);
        return Analyse(context, (TMeasurements)measurements);
    }

    /// <inheritdoc />
    public string Render(ReproductionContext context, SectionAnalysis analysis, ClaimVerdicts verdicts)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(verdicts);
        var md = new StringBuilder().AppendLine(Title).AppendLine();
        Render(context, (TAnalysis)analysis, verdicts, md);
        return md.ToString();
    }
}
