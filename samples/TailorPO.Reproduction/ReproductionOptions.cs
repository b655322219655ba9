using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction;

/// <summary>What one invocation of the harness does.</summary>
public sealed record ReproductionOptions
{
    /// <summary>The quick sizing (every section on a token budget; the end-to-end test) instead of the full page's.</summary>
    public bool Quick { get; init; }

    /// <summary>The docs folder that receives results.md and results/*.png.</summary>
    public string OutputFolder { get; init; } = "docs";

    /// <summary>Where runs and analyses are cached (null: runs/compare-&lt;quick|full&gt;).</summary>
    public string? WorkFolder { get; init; }

    /// <summary>libtorch threads (0: leave libtorch's default).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Work through the page backwards (sections, learning rates and seeds in reverse order), for a second process sharing
    /// the work folder with a normal one (docs/reproduction.md, "Using both cores"). The results, and the page, are the same.
    /// </summary>
    public bool Reverse { get; init; }

    /// <summary>The command line the page states as its producer.</summary>
    public string CommandLine { get; init; } = "tailorpo-reproduction";

    /// <summary>The sizing used.</summary>
    public ComparisonSizing Sizing => Quick ? ComparisonSizing.Quick : ComparisonSizing.Full;

    /// <summary>The work folder used.</summary>
    public string EffectiveWorkFolder => WorkFolder ?? Path.Combine("runs", $"compare-{Sizing.Name}");

    /// <summary>Every problem of the options, each a full sentence (empty: fine).</summary>
    public IEnumerable<string> Problems()
    {
        if (!Directory.Exists(Shapes.EmbeddedModel.Folder)) yield return $"The embedded model folder '{Shapes.EmbeddedModel.Folder}' is missing; rebuild the project.";
        if (File.Exists(OutputFolder)) yield return $"--output '{OutputFolder}' is a file; give the docs folder.";
        if (WorkFolder is not null && File.Exists(WorkFolder)) yield return $"--work '{WorkFolder}' is a file; give a folder.";
        if (Threads < 0) yield return $"--threads must be 0 (libtorch's default) or positive; got {Threads}.";
    }
}
