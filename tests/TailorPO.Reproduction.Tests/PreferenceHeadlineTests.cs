using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Sections;
using TailorPO.Shapes.Dataset;
using TailorPO.Shapes.Evaluation;

namespace TailorPO.Reproduction.Tests;

/// <summary>The headline section's pieces that need no training: its grade summary, sizes, keys and the learned reward's registration.</summary>
public class PreferenceHeadlineTests
{
    [Fact]
    public void A_gold_grade_keeps_each_attributes_share_the_preference_mean_and_diversity_of_the_graded_model()
    {
        // Two images of one caption: the first right on everything, the second with the wrong shape and pattern.
        var scene = new AttributeGradeOptions { Captions = 1 }.Scenes()[0];
        var otherShape = ShapeVocabulary.Shapes.First(s => s != scene.Shape);
        var otherTexture = ShapeVocabulary.Textures.First(t => t != scene.Texture);
        GradedImage Image(int seed, ShapeKind shape, BackgroundTexture texture, double preference) => new(
            new FidelitySample(scene, seed, new SceneMeasurement(scene.Color.Name, shape, scene.Background.Name, texture, 50, 0.5, 0.5)), 0, seed, [preference]);
        var model = new ModelGrade([Image(0, scene.Shape, scene.Texture, 20.0), Image(1, otherShape, otherTexture, 24.0)], 0.25);
        var report = new AttributeGradeReport(new AttributeGradeOptions { Captions = 1, SeedsPerCaption = 2 }, ["preference"], model, Aligned: null);

        var grade = GoldGrade.From(report);

        Assert.Equal([0.5, 1.0, 1.0, 0.5, 0.5], grade.Accuracy);
        Assert.Equal(0.5, grade.Of("shape"));
        Assert.Equal(0.5, grade.Of("all four"));
        Assert.Equal(22.0, grade.Preference, 12);
        Assert.Equal(0.25, grade.Diversity);
        Assert.Equal(2, grade.Images);
        Assert.Throws<ArgumentException>(() => grade.Of("size"));
    }

    [Fact]
    public void The_full_grade_is_24_held_out_captions_by_4_seeds_at_the_sizings_steps_and_the_quick_one_2_by_2()
    {
        var full = PreferenceHeadlineSection.GradeOptions(ComparisonSizing.Full);
        Assert.Equal((24, 4, ComparisonSizing.Full.Steps, RunTraining.GuidanceScale), (full.Captions, full.SeedsPerCaption, full.Steps, full.GuidanceScale));
        Assert.Empty(full.Problems());
        var quick = PreferenceHeadlineSection.GradeOptions(ComparisonSizing.Quick);
        Assert.Equal((2, 2, ComparisonSizing.Quick.Steps), (quick.Captions, quick.SeedsPerCaption, quick.Steps));
    }

    [Fact]
    public void Grades_of_one_run_at_two_points_and_of_two_seeds_have_different_cache_names()
    {
        var run = new ComparisonRun("tailorpo", PreferenceHeadlineSection.Reward, 0, 5, 2e-3);
        var names = new[]
        {
            PreferenceHeadlineSection.GradeKey(run, 64), PreferenceHeadlineSection.GradeKey(run, 128), PreferenceHeadlineSection.GradeKey(run.WithSeed(1), 64),
        };
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    [Fact]
    public void The_preference_reward_is_scored_only_for_runs_trained_on_it_and_the_panel_refuses_other_learned_names()
    {
        Assert.True(RewardPanel.Scores("preference"));
        Assert.DoesNotContain("preference", RewardPanel.Names);
        Assert.False(RewardPanel.Scores("ensemble"));
        Assert.Contains("preference", RunTraining.Rewards);
        using var panel = new RewardPanel();
        Assert.Throws<ArgumentOutOfRangeException>(() => panel.Learned("pickscore"));
    }
}
