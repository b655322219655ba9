using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Blip;
using TailorPO.Rewards.Options;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Hps;
using TailorPO.Rewards.StepRewards;
using TailorPO.Rewards.Tests.Blip;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.DependencyInjection;

/// <summary>HPSv2 and ImageReward through AddTailorPORewards: built from their folders, in an ensemble, as step rewards.</summary>
public class LearnedPreferenceRewardsRegistrationTests
{
    [Fact]
    public void Hpsv2_and_imagereward_form_a_differentiable_normalised_ensemble_whose_step_reward_has_a_gradient()
    {
        using var scope = NewDisposeScope();
        using var hps = new HpsV2ModelFolder();
        var services = new ServiceCollection();
        services.AddTailorPORewardModels();
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.HpsV2, 2.0, m => { m.ModelPath = hps.Path; m.Normalization = RewardNormalizationKind.Fixed; m.NormalizationMean = -0.1; m.NormalizationStandardDeviation = 0.05; });
            o.Add(RewardKind.ImageReward, 0.5, m => { m.ModelPath = ImageRewardParityTests.Folder; m.Normalization = RewardNormalizationKind.Running; });
            o.UsePixelSpaceDecoder = true;
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var ensemble = Assert.IsType<RewardEnsemble>(provider.GetRequiredService<IRewardModel>());
        Assert.IsType<HpsV2Reward>(ensemble.Members[0].Reward);
        Assert.IsType<ImageRewardScorer>(ensemble.Members[1].Reward);
        Assert.True(ensemble.IsDifferentiable);

        using var cases = FixtureCases.Load("hpsv2", "cases.safetensors");
        var name = cases.CaseNames()[0];
        var images = cases.Get(name, "images");
        string[] prompts = ["a red sofa", "a horse"];
        // The HPSv2 member scores exactly what the reward alone gives.
        using var direct = HpsV2Reward.FromPretrained(hps.Path);
        TensorAssert.Close(direct.Score(images, prompts), ensemble.Members[0].Reward.Score(images, prompts), atol: 0, what: "hpsv2 member");

        // Pixel-space step reward: the estimator maps [-1, 1] "latents" to images and differentiates through both rewards.
        var estimator = provider.GetRequiredService<StepRewardEstimator>();
        var latents = (images * 2 - 1).detach().clone().requires_grad_(true);
        var reward = estimator.Estimate(latents, prompts);
        Assert.Equal([2L], reward.shape);
        reward.sum().backward();
        Assert.True(latents.grad!.abs().sum().item<float>() > 0);
        Assert.True(latents.grad!.isfinite().all().item<bool>());
    }

    [Fact]
    public void Missing_hpsv2_and_imagereward_files_fail_validation_naming_them()
    {
        var empty = Directory.CreateTempSubdirectory("tailorpo-empty-").FullName;
        try
        {
            var services = new ServiceCollection();
            services.AddTailorPORewardModels();
            services.AddTailorPORewards(o => o
                .Add(RewardKind.HpsV2, 1.0, m => m.ModelPath = empty)
                .Add(RewardKind.ImageReward, 1.0, m => m.ModelPath = "/nonexistent"));
            using var provider = services.BuildServiceProvider();
            var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
            Assert.Contains(error.Failures, f => f.Contains("Rewards[0].ModelPath") && f.Contains("open_clip_config.json"));
            Assert.Contains(error.Failures, f => f.Contains("Rewards[0].ModelPath") && f.Contains("tokenizer"));
            Assert.Contains(error.Failures, f => f.Contains("Rewards[1].ModelPath") && f.Contains("med_config.json"));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
