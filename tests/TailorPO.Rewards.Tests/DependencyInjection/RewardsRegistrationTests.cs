using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Aesthetic;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Tests.Aesthetic;
using TailorPO.Rewards.Options;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Jpeg;
using TailorPO.Rewards.StepRewards;
using TailorPO.TestUtilities.Doubles;

namespace TailorPO.Rewards.Tests.DependencyInjection;

public class RewardsRegistrationTests
{
    [Fact]
    public void A_single_plain_reward_is_registered_as_itself_with_a_pixel_space_estimator()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.BrightnessTarget, configure: m => m.BrightnessTarget = 0.7);
            o.UsePixelSpaceDecoder = true;
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var reward = Assert.IsType<BrightnessTargetReward>(provider.GetRequiredService<IRewardModel>());
        Assert.Equal(0.7, reward.Target);
        var estimator = Assert.IsType<StepRewardEstimator>(provider.GetRequiredService<IStepRewardEstimator>());
        Assert.IsType<IdentityLatentDecoder>(estimator.Decoder);
        Assert.Same(reward, estimator.Reward);
    }

    [Fact]
    public void Several_rewards_become_an_ensemble_with_their_weights_and_normalisers()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILatentDecoder>(new SquashedLinearDecoder());
        services.AddTailorPORewards(o => o
            .Add(RewardKind.Colorfulness, 2.0, m => { m.Normalization = RewardNormalizationKind.Fixed; m.NormalizationMean = 0.2; m.NormalizationStandardDeviation = 0.1; })
            .Add(RewardKind.Saturation, 0.5, m => m.Normalization = RewardNormalizationKind.Running)
            .Add(RewardKind.Custom, 1.0, m => m.Factory = _ => new BrightPixelFractionReward()));
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var ensemble = Assert.IsType<RewardEnsemble>(provider.GetRequiredService<IRewardModel>());
        Assert.Equal([2.0, 0.5, 1.0], ensemble.Members.Select(m => m.Weight));
        Assert.IsType<FixedRewardNormalizer>(ensemble.Members[0].Normalizer);
        Assert.IsType<RunningRewardNormalizer>(ensemble.Members[1].Normalizer);
        Assert.IsType<BrightPixelFractionReward>(ensemble.Members[2].Reward);
        Assert.False(ensemble.IsDifferentiable);
        Assert.IsType<SquashedLinearDecoder>(provider.GetRequiredService<StepRewardEstimator>().Decoder);
    }

    [Fact]
    public void Invalid_options_fail_at_start_listing_every_problem()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => o
            .Add(RewardKind.Colorfulness, double.NaN)
            .Add(RewardKind.BrightnessTarget, 1.0, m => m.BrightnessTarget = 2)
            .Add(RewardKind.ContrastTarget, 1.0, m => { m.ContrastTarget = -1; m.Epsilon = 0; })
            .Add(RewardKind.Saturation, 1.0, m => { m.Normalization = RewardNormalizationKind.Fixed; m.NormalizationStandardDeviation = 0; })
            .Add(RewardKind.Custom));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains("Rewards[0].Weight"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[1].BrightnessTarget"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[2].ContrastTarget"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[2].Epsilon"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[3].NormalizationStandardDeviation"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[4].Kind is Custom but Factory is null"));
    }

    [Fact]
    public void No_reward_or_only_zero_weights_fail_validation()
    {
        foreach (var configure in new Action<TailorPORewardsOptions>[] { _ => { }, o => o.Add(RewardKind.Saturation, 0.0) })
        {
            var services = new ServiceCollection();
            services.AddTailorPORewards(configure);
            using var provider = services.BuildServiceProvider();
            Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        }
    }

    [Fact]
    public void A_latent_model_without_a_registered_decoder_gets_a_clear_error()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => o.Add(RewardKind.Colorfulness));
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStepRewardEstimator>());
        Assert.Contains("ILatentDecoder", error.Message);
    }

    [Fact]
    public void The_aesthetic_reward_is_built_from_its_folder_and_head_and_disposed_with_the_ensemble()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewardModels();
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.LaionAesthetic, 1.0, m => { m.ModelPath = AestheticFixture.Folder; m.AestheticHeadPath = AestheticFixture.MlpPath; });
            o.Add(RewardKind.Colorfulness, 0.1);
            o.UsePixelSpaceDecoder = true;
        });
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var ensemble = Assert.IsType<RewardEnsemble>(provider.GetRequiredService<IRewardModel>());
        var scorer = Assert.IsType<LaionAestheticScorer>(ensemble.Members[0].Reward);
        Assert.True(ensemble.IsDifferentiable);
        provider.Dispose();
        Assert.Throws<InvalidOperationException>(() => scorer.Vision.parameters().First().shape);
    }

    [Fact]
    public void Model_based_rewards_without_their_files_or_tokenizer_fail_validation()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewardModels();
        services.AddTailorPORewards(o => o
            .Add(RewardKind.LaionAesthetic, 1.0, m => { m.ModelPath = "/nonexistent"; m.AestheticHeadPath = null; })
            .Add(RewardKind.ClipScore, 1.0, m => { m.ModelPath = AestheticFixture.Folder; m.ModelDType = TorchSharp.torch.ScalarType.Int32; }));
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains("Rewards[0].ModelPath"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[0].AestheticHeadPath"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[1].Tokenize"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[1].ModelDType"));
    }

    [Fact]
    public void Jpeg_reward_kinds_are_built_with_the_configured_quality_and_score_like_the_rewards_themselves()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.JpegCompressibility, 1.0, m => m.JpegQuality = 50);
            o.Add(RewardKind.JpegIncompressibility, 0.0);
            o.UsePixelSpaceDecoder = true;
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var ensemble = Assert.IsType<RewardEnsemble>(provider.GetRequiredService<IRewardModel>());
        var compressibility = Assert.IsType<JpegCompressibilityReward>(ensemble.Members[0].Reward);
        var incompressibility = Assert.IsType<JpegIncompressibilityReward>(ensemble.Members[1].Reward);
        Assert.Equal(50, compressibility.Quality);
        Assert.Equal(BaselineJpegEncoder.DefaultQuality, incompressibility.Quality);
        Assert.False(ensemble.IsDifferentiable);

        using var scope = TorchSharp.torch.NewDisposeScope();
        var images = Analytic.TestImages.Random(seed: 3, b: 2, h: 16, w: 24, dtype: TorchSharp.torch.ScalarType.Float32);
        var prompts = Analytic.TestImages.Prompts(2);
        var direct = new JpegCompressibilityReward(new JpegRewardOptions { Quality = 50 }).Score(images, prompts).data<float>().ToArray();
        Assert.Equal(direct, ensemble.Score(images, prompts).data<float>().ToArray());
    }

    [Theory]
    [InlineData(RewardKind.JpegCompressibility, 0)]
    [InlineData(RewardKind.JpegIncompressibility, 101)]
    public void A_jpeg_quality_outside_1_to_100_fails_validation(RewardKind kind, int quality)
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => o.Add(kind, 1.0, m => m.JpegQuality = quality));
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains("Rewards[0].JpegQuality") && f.Contains(quality.ToString()));
    }

    [Fact]
    public void The_clip_score_reward_is_built_with_the_tokenizer_folder_and_scores_like_a_direct_one()
    {
        using var folder = new Clip.ClipModelFolder(logitScale: 2.0);
        var services = new ServiceCollection();
        services.AddTailorPORewardModels();
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.ClipScore, 1.0, m => { m.ModelPath = folder.Path; m.TokenizerPath = folder.TokenizerPath; });
            o.UsePixelSpaceDecoder = true;
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var reward = Assert.IsType<Rewards.Clip.ClipScoreReward>(provider.GetRequiredService<IRewardModel>());

        using var scope = TorchSharp.torch.NewDisposeScope();
        using var direct = Rewards.Clip.ClipScoreReward.FromPretrained(folder.Path, Diffusion.Tokenization.ClipTokenizer.FromFolder(folder.TokenizerPath));
        var images = Analytic.TestImages.Random(seed: 5, b: 2, h: 32, w: 32, dtype: TorchSharp.torch.ScalarType.Float32);
        string[] prompts = ["a cat", "a red car"];
        Assert.Equal(direct.Score(images, prompts).data<float>().ToArray(), reward.Score(images, prompts).data<float>().ToArray());
    }

    [Fact]
    public void A_clip_score_with_two_tokenizers_or_a_folder_without_vocabulary_fails_validation()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewardModels();
        services.AddTailorPORewards(o => o
            .Add(RewardKind.ClipScore, 1.0, m => { m.ModelPath = AestheticFixture.Folder; m.TokenizerPath = AestheticFixture.Folder; m.Tokenize = _ => null!; })
            .Add(RewardKind.ClipScore, 1.0, m => { m.ModelPath = AestheticFixture.Folder; m.TokenizerPath = AestheticFixture.Folder; }));
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains("Rewards[0].Tokenize and TokenizerPath are both set"));
        Assert.Contains(error.Failures, f => f.Contains("Rewards[1].TokenizerPath") && f.Contains("vocab.json"));
    }
}
