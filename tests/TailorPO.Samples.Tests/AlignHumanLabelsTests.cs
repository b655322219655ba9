using System.Globalization;
using TailorPO.Core.Safetensors;
using TailorPO.Samples.Cli;
using TailorPO.Training.Pairs;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary><c>align --human-labels</c>: refused with other methods, with options that do not apply, and with sampling settings that differ from the export's.</summary>
public sealed class AlignHumanLabelsTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A one-pair export whose trajectories were sampled with 10 steps, eta 1 and CFG 3 (tensors are placeholders).</summary>
    private string Export()
    {
        var folder = _folder.Combine("export");
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "a", "b" })
            SafetensorsWriter.Save(Path.Combine(folder, $"{name}.safetensors"), new Dictionary<string, Tensor>
            {
                [StoredTrajectoryPairs.LatentsName] = zeros(11, 3, 32, 32),
                [StoredTrajectoryPairs.TimestepsName] = arange(901, 0, -100, ScalarType.Int64),
                [StoredTrajectoryPairs.LogProbabilitiesName] = zeros(10),
            }, new Dictionary<string, string>
            {
                [StoredTrajectoryPairs.PromptKey] = "a red circle", [StoredTrajectoryPairs.SeedKey] = "0", [StoredTrajectoryPairs.SamplerKey] = "ddim",
                [StoredTrajectoryPairs.SchedulerKey] = "any", [StoredTrajectoryPairs.StepsKey] = "10", [StoredTrajectoryPairs.EtaKey] = "1",
                [StoredTrajectoryPairs.GuidanceScaleKey] = "3",
            });
        File.WriteAllText(Path.Combine(folder, StoredTrajectoryPairs.FileName), string.Join(",", StoredTrajectoryPairs.Header) + "\na red circle,0,a.safetensors,b.safetensors,1,0,0\n");
        return folder;
    }

    [Theory]
    [InlineData(new[] { "--method", "tailorpo" }, "--human-labels feeds D3PO's human-feedback mode; use it with --method d3po (got --method tailorpo)")]
    [InlineData(new[] { "--method", "d3po", "--prompts", "{prompts}" }, "--prompts does not apply with --human-labels")]
    [InlineData(new[] { "--method", "d3po" }, "--steps 20 differs from the 10 steps the labelled trajectories in")]
    [InlineData(new[] { "--method", "d3po", "--steps", "10", "--eta", "0.5" }, "--eta 0.5 differs from the eta 1 the labelled trajectories in")]
    [InlineData(new[] { "--method", "d3po", "--steps", "10", "--cfg", "5" }, "--cfg 5 differs from the guidance scale 3 the labelled trajectories in")]
    public void Human_labels_are_refused_where_they_do_not_apply_naming_the_option(string[] args, string message)
    {
        var export = Export();
        var prompts = _folder.Combine("prompts.txt");
        File.WriteAllText(prompts, "a red circle\n");
        var (code, output) = CliRunner.Run(["align", "-o", _folder.Combine("run"), "--human-labels", export,
            .. args.Select(a => a.Replace("{prompts}", prompts, StringComparison.Ordinal))]);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(message, output);
        Assert.False(Directory.Exists(_folder.Combine("run")));
    }

    [Fact]
    public void A_missing_or_malformed_export_is_named()
    {
        var (code, output) = CliRunner.Run(["align", "-o", _folder.Combine("run"), "--method", "d3po", "--human-labels", _folder.Combine("none")]);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--human-labels: The labelled trajectory pairs", output);

        var export = Export();
        File.AppendAllText(Path.Combine(export, StoredTrajectoryPairs.FileName), "a red circle,zero,a.safetensors,b.safetensors,1,0,0\n");
        (code, output) = CliRunner.Run(["align", "-o", _folder.Combine("run"), "--method", "d3po", "--steps", "10", "--human-labels", export, "--grade-captions", "2", "--grade-seeds", "2"]);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{StoredTrajectoryPairs.FileName}:3: seed must be an integer"), output.Replace("\n", "", StringComparison.Ordinal));
    }
}
