using TailorPO.Core.Schedules;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Pretraining;
using TailorPO.Shapes;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

public class PretrainerTests
{
    [Fact]
    public void Loss_weights_are_the_inverse_snr_clamped_between_one_and_the_cap()
    {
        var design = new TinyModelDesign();
        var schedule = new NoiseSchedule(SchedulerConfig.Parse(design.SchedulerConfig().ToJsonString()));
        long[] steps = [0, 100, 300, 500, 700, 999];
        using var scope = NewDisposeScope();
        var weights = Pretrainer.LossWeights(schedule, tensor(steps), cap: 20).data<float>().ToArray();
        for (var i = 0; i < steps.Length; i++)
        {
            double abar = schedule.AlphasCumprod[(int)steps[i]];
            var expected = Math.Clamp((1 - abar) / abar, 1, 20);
            Assert.Equal(expected, weights[i], 1e-3 * expected);
        }
        Assert.Equal(1f, weights[0]);
        Assert.Equal(20f, weights[^1]);
    }

    [Fact]
    public void The_learning_rate_warms_up_linearly_then_decays_to_a_tenth()
    {
        var options = new PretrainOptions { OutputFolder = "m", StateFolder = "s", TokenizerFolder = "t", Steps = 1000, WarmupSteps = 100, LearningRate = 1e-3 };
        Assert.Equal(1e-5, Pretrainer.LearningRate(options, 0), 12);
        Assert.Equal(1e-3, Pretrainer.LearningRate(options, 99), 12);
        Assert.Equal(1e-3, Pretrainer.LearningRate(options, 100), 12);
        Assert.Equal(0.55e-3, Pretrainer.LearningRate(options, 550), 12);
        Assert.Equal(1e-4, Pretrainer.LearningRate(options, 1000), 12);
    }

    [Fact]
    public void Cancelling_stops_after_the_current_step_and_leaves_a_checkpoint_to_resume_from()
    {
        using var folder = new TemporaryFolder();
        var options = new PretrainOptions
        {
            OutputFolder = folder.Combine("model"),
            StateFolder = folder.Combine("state"),
            TokenizerFolder = EmbeddedModel.TokenizerFolder,
            Steps = 10,
            BatchSize = 2,
            CheckpointEvery = 100,
        };
        using var cancellation = new CancellationTokenSource();
        var progress = new InlineProgress<PretrainProgress>(p => { if (p.Step == 2) cancellation.Cancel(); });

        var result = new Pretrainer().Run(options, CPU, progress, cancellation.Token);

        Assert.False(result.Completed);
        Assert.Equal(2, result.StepsDone);
        Assert.Equal(2, Pretrainer.ReadCheckpoint(options.StateFolder)!.Step);
        Assert.True(File.Exists(Path.Combine(options.OutputFolder, "unet", "diffusion_pytorch_model.safetensors")));
        var resumed = new Pretrainer().Run(options with { Steps = 3, Resume = true }, CPU);
        Assert.True(resumed.Completed);
        Assert.Equal(3, resumed.StepsDone);
    }
}
