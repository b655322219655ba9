using TailorPO.Samples.Cli;
using TailorPO.TestUtilities;

namespace TailorPO.Samples.Tests;

/// <summary><c>align --reward hpsv2</c> and <c>--reward imagereward</c> on the fixtures' tiny reward weights, at a tiny budget.</summary>
public class LearnedRewardAlignTests
{
    private static readonly string[] Tiny = ["--budget", "2", "--steps", "5", "--trained-steps", "5", "--eval-seeds", "2", "--threads", "1", "--grade-captions", "2", "--grade-seeds", "2"];

    [Theory]
    [InlineData("hpsv2", "tailorpo")]
    [InlineData("imagereward", "tailorpo-g")]
    public void A_tiny_align_with_a_learned_preference_reward_writes_its_run(string reward, string method)
    {
        using var hps = new HpsV2ModelFolder();
        using var folder = new TemporaryFolder();
        var model = reward == "hpsv2" ? hps.Path : FixtureRoot.Combine("imagereward");
        var run = folder.Combine("run");
        var (code, output) = CliRunner.Run(["align", "--reward", reward, "--reward-model", model, "--method", method, "-o", run, .. Tiny]);
        Assert.True(code == ExitCodes.Success, output);
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal(5, csv.Length - 1); // one trajectory, five trained steps
        Assert.Contains(reward, File.ReadAllText(Path.Combine(run, "summary.md")));
        Assert.True(File.Exists(Path.Combine(run, "lora.safetensors")));
    }

    [Theory]
    [InlineData("hpsv2")]
    [InlineData("imagereward")]
    public void A_learned_reward_without_its_folder_is_reported_before_any_work(string reward)
    {
        using var folder = new TemporaryFolder();
        var (code, output) = CliRunner.Run("align", "--reward", reward, "-o", folder.Combine("run"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("needs --reward-model", output);
        Assert.False(Directory.Exists(folder.Combine("run")));
    }
}
