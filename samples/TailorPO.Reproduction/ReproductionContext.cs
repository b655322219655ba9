using System.Globalization;
using Spectre.Console;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction;

/// <summary>What every section of the results page works with: the sizing, the cached runner, the shared evaluator,
/// where images go, and the provenance line each table carries.</summary>
public sealed class ReproductionContext
{
    /// <summary>Creates the context.</summary>
    public ReproductionContext(ComparisonSizing sizing, ComparisonRunner runner, HeldOutEvaluator evaluator, IAnsiConsole console,
        string outputFolder, string commandLine, int threads, CancellationToken cancellationToken)
    {
        (Sizing, Runner, Evaluator, Console, OutputFolder, CommandLine, Threads, CancellationToken) =
            (sizing, runner, evaluator, console, outputFolder, commandLine, threads, cancellationToken);
        Runs = new MethodRunsProvider(sizing, runner);
        Directory.CreateDirectory(ImagesFolder);
    }

    /// <summary>The sizing.</summary>
    public ComparisonSizing Sizing { get; }

    /// <summary>Training runs, cached in the work folder.</summary>
    public ComparisonRunner Runner { get; }

    /// <summary>The compared configurations at their chosen learning rates (trained once for the page).</summary>
    public MethodRunsProvider Runs { get; }

    /// <summary>The shared pipeline and evaluation.</summary>
    public HeldOutEvaluator Evaluator { get; }

    /// <summary>Progress output.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>The docs folder results.md goes to.</summary>
    public string OutputFolder { get; }

    /// <summary>docs/results: the PNGs.</summary>
    public string ImagesFolder => Path.Combine(OutputFolder, "results");

    /// <summary>The command line that produced the page.</summary>
    public string CommandLine { get; }

    /// <summary>libtorch threads.</summary>
    public int Threads { get; }

    /// <summary>Observed between runs and steps.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The base model's evaluated rewards.</summary>
    public ImageSetScores BaseScores => _baseScores ??= Runner.BaseScores(CancellationToken);

    private ImageSetScores? _baseScores;

    /// <summary>The full path of a results PNG and its link from results.md.</summary>
    public (string Path, string Link) Image(string fileName) => (System.IO.Path.Combine(ImagesFolder, fileName), $"results/{fileName}");

    /// <summary>The analysis seeds of sections 2-4 (the first <see cref="ComparisonSizing.AnalysisSeeds"/> training seeds).</summary>
    public IReadOnlyList<long> AnalysisSeeds => Sizing.Seeds.Take(Sizing.AnalysisSeeds).ToList();

    /// <summary>The machine, as the tables state it (the CPU by name and family: libtorch's convolutions take another path on some CPUs, docs/performance.md).</summary>
    public string Machine => string.Create(CultureInfo.InvariantCulture,
        $"{Environment.ProcessorCount} cores of {TailorPO.Core.Numerics.CpuDescription.Current}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {Threads} libtorch thread(s), " +
        $"OMP_NUM_THREADS={Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "unset"}, shared with other jobs");

    private readonly Dictionary<string, SectionCompute> _compute = [];

    /// <summary>Records the compute behind a section, taken from the runner right after the section was measured.</summary>
    public void RecordCompute(string title, double invocationSeconds)
    {
        var (training, analysis) = Runner.TakeCompute();
        _compute[title] = new SectionCompute(training, analysis, invocationSeconds);
    }

    /// <summary>
    /// The provenance line under a section: command, seeds, machine, and the compute behind the section's numbers - the
    /// training wall time of its runs and the wall time of its analyses as measured when first computed (a run shared
    /// with an earlier section counts again here), plus this invocation's time.
    /// </summary>
    public string Provenance(string title, string? seedsNote = null)
    {
        var compute = _compute.GetValueOrDefault(title) ?? new SectionCompute(0, 0, 0);
        return string.Create(CultureInfo.InvariantCulture,
            $"_Produced by `{CommandLine}`; {seedsNote ?? $"training seeds {string.Join(", ", Sizing.Seeds)}"}; evaluation seeds " +
            $"{string.Join(", ", Evaluator.Seeds)}; compute behind this section: training {compute.TrainingSeconds / 60:F1} min + analyses {compute.AnalysisSeconds / 60:F1} min " +
            $"(wall time when first computed; this invocation {compute.InvocationSeconds / 60:F1} min); machine: {Machine}._");
    }

    private sealed record SectionCompute(double TrainingSeconds, double AnalysisSeconds, double InvocationSeconds);
}
