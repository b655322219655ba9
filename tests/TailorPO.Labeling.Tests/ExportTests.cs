using TailorPO.Diffusion.Preferences;
using TailorPO.Labeling.Export;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tests;

public sealed class ExportTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Majority_vote_export_is_read_back_by_the_Diffusion_DPO_csv_reader_with_ties_abstaining()
    {
        var data = Path.Combine(_folder.Path, "data");
        var store = TestData.StoreWithPairs(data, 4, 3);
        var annotators = Enumerable.Range(0, 3).Select(i => store.CreateAnnotator($"ann{i}").Annotator).ToList();
        // Pair votes in the pair's own terms (A, B, tie): pair 0 A,A,B -> A; pair 1 B,tie,tie -> B; pair 2 A,B,tie -> none; pair 3 unlabelled.
        var plan = new Dictionary<int, string[]> { [0] = ["a", "a", "b"], [1] = ["b", "tie", "tie"], [2] = ["a", "b", "tie"] };
        var pairIds = store.Tallies().Select(t => t.PairId).ToList();
        foreach (var (annotator, index) in annotators.Select((a, i) => (a, i)))
            for (var k = 0; k < 4; k++)
            {
                var assignment = store.NextAssignment(annotator)!;
                var pair = pairIds.IndexOf(assignment.PairId);
                var choice = plan.TryGetValue(pair, out var votes) ? votes[index] : "skip";
                var answer = choice switch
                {
                    "a" => assignment.AOnLeft ? Answer.Left : Answer.Right,
                    "b" => assignment.AOnLeft ? Answer.Right : Answer.Left,
                    "tie" => Answer.Tie,
                    _ => Answer.Skip,
                };
                Assert.Equal(VoteOutcome.Recorded, store.RecordVote(annotator, assignment.Id, answer));
            }

        var output = Path.Combine(_folder.Path, "export");
        var (pairs, trajectories) = PreferenceExport.Write(store.Tallies(), data, output);
        Assert.Equal((2, 2), (pairs, trajectories));
        var rows = PreferencePairCsv.Read(Path.Combine(output, PreferenceExport.PairsFileName));
        Assert.Equal(2, rows.Count);
        Assert.Equal(Path.Combine(data, "images", "pair0-a.png"), rows[0].Preferred);
        Assert.Equal(Path.Combine(data, "images", "pair0-b.png"), rows[0].Dispreferred);
        Assert.Equal(Path.Combine(data, "images", "pair1-b.png"), rows[1].Preferred);
        Assert.Equal("a blue square, striped", rows[1].Prompt);
        var trajectoryLines = File.ReadAllLines(Path.Combine(output, PreferenceExport.TrajectoryPairsFileName));
        Assert.Equal("prompt,seed,preferred,dispreferred,preferred_votes,dispreferred_votes,ties", trajectoryLines[0]);
        Assert.Equal("\"a blue square, striped\",1,../data/trajectories/pair1-b.safetensors,../data/trajectories/pair1-a.safetensors,1,0,2", trajectoryLines[2]);
    }

    [Fact]
    public void Export_without_any_majority_says_to_label_more()
    {
        var store = TestData.StoreWithPairs(_folder.Path, 2, 1);
        var error = Assert.Throws<LabelingException>(() => PreferenceExport.Write(store.Tallies(), _folder.Path, Path.Combine(_folder.Path, "out")));
        Assert.Contains("label more", error.Message, StringComparison.Ordinal);
    }
}
