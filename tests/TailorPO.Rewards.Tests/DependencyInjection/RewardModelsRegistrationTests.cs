using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Aesthetic;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Jpeg;
using TailorPO.Rewards.Options;
using TailorPO.Rewards.Tests.Aesthetic;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.DependencyInjection;

/// <summary>
/// The seam between TailorPO.Rewards and TailorPO.RewardModels: the learned kinds are built only when the host
/// registers the package that has them, and a host that asks for one without it is told which package to add.
/// </summary>
public class RewardModelsRegistrationTests
{
    [Theory]
    [InlineData(RewardKind.LaionAesthetic)]
    [InlineData(RewardKind.ClipScore)]
    [InlineData(RewardKind.HpsV2)]
    [InlineData(RewardKind.ImageReward)]
    public void A_learned_kind_without_AddTailorPORewardModels_fails_at_start_naming_the_package_to_add(RewardKind kind)
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => o.Add(RewardKind.Colorfulness).Add(kind, 1.0, m => m.ModelPath = "/nonexistent"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        var failure = Assert.Single(error.Failures);
        Assert.Contains($"Rewards[1].Kind is {kind}", failure);
        Assert.Contains("TailorPO.RewardModels", failure);
        Assert.Contains("AddTailorPORewardModels()", failure);
    }

    [Fact]
    public void Resolving_the_reward_in_a_host_that_was_not_started_gives_the_same_advice()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => o.Add(RewardKind.ClipScore, 1.0, m => m.ModelPath = "/nonexistent"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRewardModel>());

        Assert.Contains("TailorPORewardsOptions.Rewards[0].Kind is ClipScore", error.Message);
        Assert.Contains("AddTailorPORewardModels()", error.Message);
    }

    [Fact]
    public void The_validator_built_directly_knows_the_built_in_kinds_and_refuses_the_learned_ones()
    {
        var options = new TailorPORewardsOptions().Add(RewardKind.JpegCompressibility).Add(RewardKind.HpsV2);

        var result = new TailorPORewardsOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Rewards[1].Kind is HpsV2", failure);
    }

    [Fact]
    public void Registering_the_reward_models_twice_adds_one_factory_and_the_order_of_the_two_calls_does_not_matter()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.LaionAesthetic, 1.0, m => { m.ModelPath = AestheticFixture.Folder; m.AestheticHeadPath = AestheticFixture.MlpPath; });
            o.UsePixelSpaceDecoder = true;
        });
        services.AddTailorPORewardModels();
        services.AddTailorPORewardModels();
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();

        Assert.Single(provider.GetServices<IRewardKindFactory>());
        Assert.IsType<LaionAestheticScorer>(provider.GetRequiredService<IRewardModel>());
    }

    [Fact]
    public void The_packages_dtype_applies_to_a_learned_member_that_leaves_its_own_unset_and_a_members_own_wins()
    {
        using var scope = NewDisposeScope();
        var services = new ServiceCollection();
        services.AddTailorPORewardModels(o => o.ModelDType = ScalarType.Float64);
        services.AddTailorPORewards(o =>
        {
            o.Add(RewardKind.LaionAesthetic, 1.0, m => { m.ModelPath = AestheticFixture.Folder; m.AestheticHeadPath = AestheticFixture.MlpPath; });
            o.Add(RewardKind.LaionAesthetic, 1.0, m =>
            {
                (m.ModelPath, m.AestheticHeadPath, m.ModelDType) = (AestheticFixture.Folder, AestheticFixture.MlpPath, ScalarType.Float32);
            });
            o.UsePixelSpaceDecoder = true;
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var ensemble = Assert.IsType<RewardEnsemble>(provider.GetRequiredService<IRewardModel>());

        var inherited = Assert.IsType<LaionAestheticScorer>(ensemble.Members[0].Reward);
        var own = Assert.IsType<LaionAestheticScorer>(ensemble.Members[1].Reward);
        Assert.All(inherited.Vision.parameters().Concat(inherited.Mlp.parameters()), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.All(own.Vision.parameters().Concat(own.Mlp.parameters()), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Bad_reward_models_options_fail_at_start_listing_every_problem()
    {
        var services = new ServiceCollection();
        services.AddTailorPORewardModels(o => (o.ModelDType, o.ModelDevice) = (ScalarType.Int64, " "));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(error.Failures, f => f.Contains("TailorPORewardModelsOptions.ModelDType is Int64"));
        Assert.Contains(error.Failures, f => f.Contains("TailorPORewardModelsOptions.ModelDevice is blank"));
    }

    [Fact]
    public void The_model_free_rewards_assembly_references_neither_the_diffusion_package_nor_SkiaSharp()
    {
        var referenced = typeof(JpegCompressibilityReward).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.Contains("TailorPO.Core", referenced);
        Assert.DoesNotContain(referenced, name => name.StartsWith("TailorPO.Diffusion", StringComparison.Ordinal));
        Assert.DoesNotContain(referenced, name => name.StartsWith("SkiaSharp", StringComparison.Ordinal));
        Assert.DoesNotContain(referenced, name => name.StartsWith("TailorPO.RewardModels", StringComparison.Ordinal));
    }
}
