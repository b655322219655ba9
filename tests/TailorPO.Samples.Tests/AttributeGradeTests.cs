using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Evaluation;
using TailorPO.Shapes;
using TailorPO.Shapes.Dataset;
using TailorPO.Shapes.Evaluation;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary>The GenEval-style grade: its statistics against closed forms, its captions, and a grade of a real model.</summary>
public class AttributeGradeTests
{
    [Fact]
    public void The_estimate_is_the_mean_and_the_sample_standard_deviation_over_root_n()
    {
        // [1, 0, 1, 1]: mean 3/4; squared deviations 3 x 1/16 + 9/16 = 3/4, sample variance 1/4, s.e. sqrt(1/4 / 4) = 1/4.
        var estimate = Estimate.Of([1, 0, 1, 1]);
        Assert.Equal(0.75, estimate.Mean, 12);
        Assert.Equal(0.25, estimate.StandardError, 12);
        Assert.Equal(3.0, estimate.StandardErrors, 12);
        Assert.True(double.IsNaN(Estimate.Of([1]).StandardError));
    }

    [Fact]
    public void Diversity_is_the_mean_pairwise_rms_distance_between_seeds()
    {
        // Caption 0: seeds at 0.2, 0.5 and 0.9 everywhere (RMS distances 0.3, 0.7, 0.4: mean 1.4 / 3); caption 1: identical (0).
        using var scope = NewDisposeScope();
        var perSeed = new[] { 0.2f, 0.5f, 0.9f }.Select(v => stack([full(3, 4, 4, v), full(3, 4, 4, 0.3f)])).ToList();
        Assert.Equal((1.4 / 3 + 0) / 2, AttributeGrader.Diversity(perSeed), 6);
    }

    [Fact]
    public void Gains_are_paired_over_the_same_captions_and_seeds()
    {
        var scene = new AttributeGradeOptions { Captions = 1 }.Scenes()[0];
        GradedImage Image(int seed, bool shapeRight, double monitor)
        {
            var measured = new SceneMeasurement(scene.Color.Name, shapeRight ? scene.Shape : null, scene.Background.Name, scene.Texture, 50, 0.5, 0.5);
            return new GradedImage(new FidelitySample(scene, seed, measured), 0, seed, [monitor]);
        }
        var baseGrade = new ModelGrade([Image(0, false, 1.0), Image(1, false, 2.0), Image(2, true, 3.0), Image(3, false, 4.0)], 0.2);
        var aligned = new ModelGrade([Image(0, true, 1.5), Image(1, true, 2.0), Image(2, true, 3.5), Image(3, false, 4.0)], 0.15);
        var report = new AttributeGradeReport(new AttributeGradeOptions { Captions = 1, SeedsPerCaption = 4 }, ["m"], baseGrade, aligned);

        var shape = GradedAttribute.All.Single(a => a.Name == "shape");
        // Differences [1, 1, 0, 0]: mean 1/2, sample variance 1/3, s.e. sqrt(1/12).
        var gain = report.Gain(shape);
        Assert.Equal(0.5, gain.Mean, 12);
        Assert.Equal(Math.Sqrt(1.0 / 12), gain.StandardError, 12);
        // Monitor differences [0.5, 0, 0.5, 0]: the same figures scaled by a half.
        var monitor = report.MonitorGain(0);
        Assert.Equal(0.25, monitor.Mean, 12);
        Assert.Equal(Math.Sqrt(1.0 / 12) / 2, monitor.StandardError, 12);
        Assert.Equal(0.75, report.DiversityRatio, 12);
        Assert.Equal(0.25, baseGrade.Accuracy(shape).Mean, 12);
        var markdown = report.ToMarkdown();
        Assert.Contains("| shape | 25.0% +- 25.0 | 75.0% +- 25.0 | +50.0 +- 28.9 pts | 1.7 |", markdown);
        Assert.Contains("(75% of the base)", markdown);
    }

    [Fact]
    public void Ranking_agreement_counts_right_over_wrong_pairs_within_a_caption_with_ties_as_halves()
    {
        var scenes = new AttributeGradeOptions { Captions = 2 }.Scenes();
        GradedImage Image(int caption, int seed, bool shapeRight, double monitor)
        {
            var scene = scenes[caption];
            var measured = new SceneMeasurement(scene.Color.Name, shapeRight ? scene.Shape : null, scene.Background.Name, scene.Texture, 50, 0.5, 0.5);
            return new GradedImage(new FidelitySample(scene, seed, measured), caption, seed, [monitor]);
        }
        // Caption 0: right {3, 1} vs wrong {2, 2}: 3 beats both, 1 neither (2 of 4). Caption 1: right {5} vs wrong {5, 4}: a tie
        // and a win (1.5 of 2). Pairs across captions do not count (the wrong 2s of caption 0 would lose to caption 1's 5).
        var grade = new ModelGrade([Image(0, 0, true, 3), Image(0, 1, true, 1), Image(0, 2, false, 2), Image(0, 3, false, 2),
            Image(1, 0, true, 5), Image(1, 1, false, 5), Image(1, 2, false, 4)], 0.2);
        var shape = GradedAttribute.All.Single(a => a.Name == "shape");
        var agreement = grade.Agreement(shape, 0);
        Assert.Equal(6, agreement.Pairs);
        Assert.Equal(3.5 / 6, agreement.Share, 12);
        // Every image has its colour right: no pairs, no share.
        var colour = grade.Agreement(GradedAttribute.All.Single(a => a.Name == "shape colour"), 0);
        Assert.Equal(0, colour.Pairs);
        Assert.True(double.IsNaN(colour.Share));
        var markdown = new AttributeGradeReport(new AttributeGradeOptions { Captions = 2, SeedsPerCaption = 4 }, ["proxy"], grade, null).ToMarkdown();
        Assert.Contains("Does the proxy see the attributes?", markdown);
        Assert.Contains("shape 58% of 6 pairs", markdown);
        Assert.DoesNotContain("shape colour 0%", markdown);
    }

    [Fact]
    public void The_graded_captions_are_distinct_held_out_combinations_with_every_pattern()
    {
        var scenes = new AttributeGradeOptions().Scenes();
        Assert.Equal(24, scenes.Count);
        Assert.All(scenes, s => Assert.True(ShapeVocabulary.IsHeldOut(s.Shape, s.Color, s.Background)));
        Assert.Equal(scenes.Count, scenes.Select(s => s.Caption).Distinct().Count());
        Assert.Equal(ShapeVocabulary.Shapes.Count, scenes.Select(s => s.Shape).Distinct().Count());
        Assert.Equal(ShapeVocabulary.Textures.Count, scenes.Select(s => s.Texture).Distinct().Count());
        Assert.Contains(new AttributeGradeOptions { Captions = 0 }.Problems(), p => p.Contains("caption count", StringComparison.Ordinal));
        Assert.Contains(new AttributeGradeOptions { SeedsPerCaption = 1 }.Problems(), p => p.Contains("diversity needs two", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fresh_adapter_changes_nothing_and_the_base_grade_matches_the_measurer_on_the_same_images()
    {
        var options = new AttributeGradeOptions { Captions = 3, SeedsPerCaption = 2, Steps = 4 };
        using var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        using var generator = new Generator(seed: 5);
        // A fresh LoRA's up-projection is zero: the "aligned" model is the base, image for image.
        var adapter = LoraAdapter.Attach(pipeline.Unet, new LoraConfig { Rank = 2 }, generator);
        var report = AttributeGrader.Grade(pipeline, adapter, options, GradeMonitor.OffTarget());

        Assert.NotNull(report.Aligned);
        Assert.Equal(options.Captions * options.SeedsPerCaption, report.Count);
        foreach (var attribute in GradedAttribute.All) Assert.Equal(0.0, report.Gain(attribute).Mean);
        for (var m = 0; m < report.MonitorNames.Count; m++) Assert.Equal(0.0, report.MonitorGain(m).Mean, 6);
        Assert.Equal(1.0, report.DiversityRatio, 6);
        Assert.True(report.Base.Diversity > 0);

        // The first seed's first caption, generated directly and measured: the grade's verdict on that image.
        var scene = options.Scenes()[0];
        using var result = pipeline.Generate(new TextToImageRequest
        {
            Prompts = options.Scenes().Select(s => s.Caption).ToList(), Steps = options.Steps, GuidanceScale = options.GuidanceScale, Eta = options.Eta,
            Seed = options.FirstSeed,
        });
        using var image = result.Images[0];
        Assert.Equal(SceneMeasurer.Measure(image), report.Base.Images[0].Fidelity.Measured);
        Assert.Equal(scene.Caption, report.Base.Images[0].Fidelity.Caption);
    }
}
