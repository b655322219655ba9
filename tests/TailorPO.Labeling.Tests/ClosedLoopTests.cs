using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using TailorPO.Diffusion.Imaging;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Labeling.Cli;
using TailorPO.Labeling.Storage;
using TailorPO.Labeling.Tasks;
using TailorPO.Rewards.Analytic;
using TailorPO.Shapes;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Labeling.Tests;

/// <summary>
/// The whole human-feedback loop on the embedded model, with a scripted annotator who prefers the more colourful image
/// (Hasler-Suesstrunk colourfulness, TailorPO.Rewards): generate trajectory pairs, label them, export the majority CSV,
/// train Diffusion-DPO on it with the samples CLI's <c>align --method diffusion-dpo --pairs</c>, and check that the
/// aligned model's colourfulness on held-out prompts and seeds rose.
/// </summary>
public sealed partial class ClosedLoopTests(ITestOutputHelper output) : IDisposable
{
    // Passes over the labelled pairs (align's budget counts two images per pair trained on).
    private const int Epochs = 4;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Labels_from_an_annotator_who_prefers_colour_train_a_more_colourful_model()
    {
        var clock = Stopwatch.StartNew();
        var data = Path.Combine(_folder.Path, "data");
        var store = new LabelStore(LabelDatabase.Open(Path.Combine(data, LabelingCommands.DatabaseFileName)), 1);
        string[] prompts =
        [
            "a red circle on a plain white background", "a blue square on a striped yellow background",
            "a green triangle on a dotted white background", "a yellow circle on a plain blue background",
            "a purple cross on a checkered green background", "an orange square on a plain black background",
            "a black triangle on a striped orange background", "a white cross on a dotted red background",
        ];
        using (var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder))
            store.AddPairs(new TaskGenerator(pipeline, "embedded", new TaskGenerationOptions { Steps = 10, PairsPerPrompt = 8 }).TrajectoryPairs(prompts, data));
        output.WriteLine($"{store.PairCount()} pairs generated in {clock.Elapsed.TotalSeconds:F0} s");

        // The scripted annotator: the more colourful image wins; on screen that is left or right as the pair was shown.
        var (annotator, _) = store.CreateAnnotator("prefers colour");
        var colourfulness = new ColorfulnessReward();
        double Colourfulness(long imageId)
        {
            using var scope = NewDisposeScope();
            var image = ImageTensors.Load(Path.Combine(data, store.ImageFileFor(annotator, imageId)!)).unsqueeze(0);
            return colourfulness.Score(image, [""]).item<float>();
        }
        for (var i = 0; i <= store.PairCount(); i++)
        {
            if (store.NextAssignment(annotator) is not { } assignment) break;
            var answer = Colourfulness(assignment.LeftImageId) >= Colourfulness(assignment.RightImageId) ? Answer.Left : Answer.Right;
            Assert.Equal(VoteOutcome.Recorded, store.RecordVote(annotator, assignment.Id, answer));
        }
        Assert.Equal(store.PairCount(), store.Votes().Count);

        var export = Path.Combine(_folder.Path, "export");
        Assert.Equal(0, await LabelingCommands.RunAsync(CommandLine.Parse(["export", "--data", data, "--out", export]), TextWriter.Null, default));

        // Train with the samples CLI as a user would (the app does not reference the CLI; the test runs its build).
        var run = Path.Combine(_folder.Path, "run");
        var (code, log) = RunCli(["align", "--method", "diffusion-dpo", "--pairs", Path.Combine(export, "pairs.csv"), "--reward", "colorfulness",
            "--budget", (2 * Epochs * store.PairCount()).ToString(CultureInfo.InvariantCulture), "--eval-seeds", "4", "--threads", "1", "-o", run]);
        Assert.True(code == 0, log);
        var summary = File.ReadAllText(Path.Combine(run, "summary.md"));
        output.WriteLine(summary);
        var improvement = Improvement().Match(summary);
        Assert.True(improvement.Success, summary);
        var gain = double.Parse(improvement.Groups[1].Value, CultureInfo.InvariantCulture);
        var standardError = double.Parse(improvement.Groups[2].Value, CultureInfo.InvariantCulture);
        output.WriteLine($"colourfulness rose by {gain:G4} (s.e. {standardError:G3}); whole loop {clock.Elapsed.TotalMinutes:F1} min");
        // Beyond noise: more than two seed-to-seed standard errors above the base model.
        Assert.True(gain > 2 * standardError, $"The aligned model is not clearly more colourful: improvement {gain} (s.e. {standardError}).");
    }

    private static (int Code, string Log) RunCli(IReadOnlyList<string> arguments)
    {
        // tests/TailorPO.Labeling.Tests/bin/<configuration>/<tfm>/ -> samples/TailorPO.Samples/bin/<configuration>/<tfm>/tailorpo.dll
        var binary = AppContext.BaseDirectory.Replace(Path.Combine("tests", "TailorPO.Labeling.Tests"), Path.Combine("samples", "TailorPO.Samples"), StringComparison.Ordinal);
        var cli = Path.Combine(binary, "tailorpo.dll");
        Assert.True(File.Exists(cli), $"The samples CLI is not built at {cli} (the test project builds it through a build-only project reference).");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(cli);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "align did not finish within 15 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [GeneratedRegex(@"Improvement (-?[0-9.eE+-]+) \(seed-to-seed standard error ([0-9.eE+-]+|NaN)\)")]
    private static partial Regex Improvement();
}
