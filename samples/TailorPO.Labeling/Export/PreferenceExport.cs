using System.Globalization;
using System.Text;
using TailorPO.Labeling.Storage;
using TailorPO.Training.Pairs;

namespace TailorPO.Labeling.Export;

/// <summary>
/// Turns votes into training data by majority vote over the votes that chose a side. A tie vote is an abstention: it
/// counts for neither image. A pair whose A and B votes are equal (including a pair with only ties or skips) has no
/// majority and is left out; so is a pair nobody labelled.
/// <list type="bullet">
/// <item><c>pairs.csv</c>: <c>prompt,preferred,dispreferred</c> image paths relative to the CSV, the format
/// <c>align --method diffusion-dpo --pairs</c> reads (every pair kind).</item>
/// <item><c>trajectory-pairs.csv</c>: the trajectory pairs (D3PO's setting) with their safetensors files, relative to the
/// CSV, and the vote counts: <c>prompt,seed,preferred,dispreferred,preferred_votes,dispreferred_votes,ties</c>.</item>
/// </list>
/// Files are written to a temporary name and renamed, so a reader never sees half a file.
/// </summary>
internal static class PreferenceExport
{
    /// <summary>The Diffusion-DPO CSV's file name.</summary>
    public const string PairsFileName = "pairs.csv";

    /// <summary>The D3PO trajectory CSV's file name (the one <c>align --method d3po --human-labels</c> reads).</summary>
    public const string TrajectoryPairsFileName = StoredTrajectoryPairs.FileName;

    /// <summary>Writes both files into <paramref name="outputFolder"/>; returns how many rows each got.</summary>
    /// <exception cref="LabelingException">The folder cannot be written, or no pair has a majority.</exception>
    public static (int Pairs, int TrajectoryPairs) Write(IReadOnlyList<PairTally> tallies, string dataFolder, string outputFolder)
    {
        ArgumentNullException.ThrowIfNull(tallies);
        var decided = tallies.Where(t => t.A != t.B).ToList();
        if (decided.Count == 0)
            throw new LabelingException($"No pair has a majority yet ({tallies.Count} pairs, {tallies.Sum(t => t.Ratings)} comparing votes); label more before exporting.");
        var output = Path.GetFullPath(outputFolder);
        var data = Path.GetFullPath(dataFolder);
        try
        {
            Directory.CreateDirectory(output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabelingException($"Cannot create the export folder '{output}': {e.Message}. Choose a writable --out folder.", e);
        }
        string Relative(string stored) => Path.GetRelativePath(output, Path.Combine(data, stored)).Replace('\\', '/');

        var pairs = new StringBuilder("prompt,preferred,dispreferred\n");
        foreach (var t in decided)
        {
            var (preferred, dispreferred) = t.A > t.B ? (t.ImageA, t.ImageB) : (t.ImageB, t.ImageA);
            pairs.Append(Csv(t.Prompt)).Append(',').Append(Csv(Relative(preferred))).Append(',').Append(Csv(Relative(dispreferred))).Append('\n');
        }
        var trajectories = new StringBuilder(string.Join(",", StoredTrajectoryPairs.Header) + "\n");
        var trajectoryRows = 0;
        foreach (var t in decided.Where(t => t.Kind == PairKinds.Trajectory && t.TrajectoryA is not null && t.TrajectoryB is not null))
        {
            var aWins = t.A > t.B;
            var (preferred, dispreferred) = aWins ? (t.TrajectoryA!, t.TrajectoryB!) : (t.TrajectoryB!, t.TrajectoryA!);
            trajectories.Append(Csv(t.Prompt)).Append(',').Append(t.Seed.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Csv(Relative(preferred))).Append(',').Append(Csv(Relative(dispreferred))).Append(',')
                .Append(CultureInfo.InvariantCulture, $"{Math.Max(t.A, t.B)},{Math.Min(t.A, t.B)},{t.Tie}\n");
            trajectoryRows++;
        }
        WriteAtomically(Path.Combine(output, PairsFileName), pairs.ToString());
        WriteAtomically(Path.Combine(output, TrajectoryPairsFileName), trajectories.ToString());
        return (decided.Count, trajectoryRows);
    }

    // RFC 4180: quote a field holding a comma, a quote or a line break, doubling its quotes. Prompts with line breaks
    // cannot be stored (the prompts file is line-based), so a field never spans lines.
    private static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        try
        {
            File.WriteAllText(temporary, text, new UTF8Encoding(false));
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabelingException($"Cannot write '{path}': {e.Message}. Choose a writable --out folder.", e);
        }
    }
}
