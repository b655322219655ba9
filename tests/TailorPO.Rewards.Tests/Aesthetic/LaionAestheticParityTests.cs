using TailorPO.Rewards.Aesthetic;
using TailorPO.Rewards.Clip;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Aesthetic;

/// <summary>Parity of the LAION aesthetic scorer with ddpo-pytorch / transformers (fixture section 5, tensor path).</summary>
public class LaionAestheticParityTests(ITestOutputHelper output)
{
    [Fact]
    public void Score_matches_the_reference_expected_score_for_every_case()
    {
        using var scope = NewDisposeScope();
        using var scorer = LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, AestheticFixture.MlpPath);
        using var cases = AestheticFixture.LoadCases();
        Assert.NotEmpty(cases.CaseNames());
        foreach (var name in cases.CaseNames())
        {
            var images = cases.Get(name, "images");
            var prompts = Enumerable.Repeat("", (int)images.shape[0]).ToArray();
            var score = scorer.Score(images, prompts);
            var error = AestheticFixture.AssertScoreClose(cases.Get(name, "expected_score"), score, $"{name}.expected_score");
            output.WriteLine($"{name}: images [{string.Join(", ", images.shape)}], max |score - expected| = {error:E2}");
        }
    }

    [Fact]
    public void Intermediate_tensors_match_resized_pixel_values_and_normalised_embeddings()
    {
        using var scope = NewDisposeScope();
        using var scorer = LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, AestheticFixture.MlpPath);
        using var cases = AestheticFixture.LoadCases();
        foreach (var name in cases.CaseNames())
        {
            var images = cases.Get(name, "images");
            var resized = scorer.Preprocessor.Resize(images);
            TensorAssert.Close(cases.Get(name, "resized"), resized, atol: 1e-5, what: $"{name}.resized");
            TensorAssert.Close(cases.Get(name, "pixel_values"), scorer.Preprocessor.Preprocess(images), atol: 1e-4, what: $"{name}.pixel_values");
            using var vision = scorer.Vision.Encode(cases.Get(name, "pixel_values"));
            TensorAssert.Close(cases.Get(name, "image_embeds"), vision.ImageEmbeds, atol: 1e-4, what: $"{name}.image_embeds");
            var normalized = scorer.NormalizedImageEmbeddings(images);
            TensorAssert.Close(cases.Get(name, "image_embeds_normalized"), normalized, atol: 1e-4, what: $"{name}.image_embeds_normalized");
            output.WriteLine($"{name}: resized {TensorAssert.MaxAbsDifference(cases.Get(name, "resized"), resized):E2}, " +
                $"embeds_normalized {TensorAssert.MaxAbsDifference(cases.Get(name, "image_embeds_normalized"), normalized):E2}");
        }
    }

    [Fact]
    public void Mlp_maps_the_reference_normalised_embeddings_to_the_expected_score()
    {
        using var scope = NewDisposeScope();
        using var mlp = AestheticMlp.FromFile(AestheticFixture.MlpPath);
        using var cases = AestheticFixture.LoadCases();
        foreach (var name in cases.CaseNames())
        {
            var embeddings = cases.Get(name, "image_embeds_normalized");
            Assert.Equal(embeddings.shape[1], mlp.InputDim);
            var score = mlp.forward(embeddings).squeeze(1);
            AestheticFixture.AssertScoreClose(cases.Get(name, "expected_score"), score, $"{name} MLP score");
        }
    }

    [Fact]
    public void Resize_target_size_follows_the_shortest_edge_rule_of_the_fixture()
    {
        using var cases = AestheticFixture.LoadCases();
        var preprocessor = ClipImagePreprocessor.FromFile(Path.Combine(AestheticFixture.Folder, "preprocessor_config.json"));
        foreach (var name in cases.CaseNames())
        {
            var images = cases.Get(name, "images");
            var resized = cases.Get(name, "resized");
            var (height, width) = ClipImagePreprocessor.ResizedSize(images.shape[2], images.shape[3], preprocessor.ShortestEdge);
            Assert.Equal((resized.shape[2], resized.shape[3]), (height, width));
        }
        Assert.Equal((224L, 298L), ClipImagePreprocessor.ResizedSize(300, 400, 224) is var s ? (s.Height, s.Width) : default);
        Assert.Equal((298L, 224L), ClipImagePreprocessor.ResizedSize(400, 300, 224) is var t ? (t.Height, t.Width) : default);
    }

    [Fact]
    public void Preprocessor_config_is_read_from_the_fixture_folder()
    {
        using var cases = AestheticFixture.LoadCases();
        var preprocessor = ClipImagePreprocessor.FromFile(Path.Combine(AestheticFixture.Folder, "preprocessor_config.json"));
        var pixelValues = cases.Get(cases.CaseNames()[0], "pixel_values");
        Assert.Equal(pixelValues.shape[2], preprocessor.CropHeight);
        Assert.Equal(pixelValues.shape[3], preprocessor.CropWidth);
        Assert.Equal(System.Text.Json.JsonSerializer.Deserialize<double[]>(cases.Metadata["clip_mean"]), preprocessor.Mean);
        Assert.Equal(System.Text.Json.JsonSerializer.Deserialize<double[]>(cases.Metadata["clip_std"]), preprocessor.Std);
        Assert.Equal(long.Parse(cases.Metadata["image_size"], System.Globalization.CultureInfo.InvariantCulture), preprocessor.ShortestEdge);
    }

    [Fact]
    public void Aesthetic_gradient_matches_directional_central_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var scorer = LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, AestheticFixture.MlpPath, dtype: ScalarType.Float64);
        using var cases = AestheticFixture.LoadCases();
        using var generator = new Generator(17);
        foreach (var name in cases.CaseNames())
        {
            // Stay inside (0, 1) so the +-h probes remain valid images.
            var images = cases.Get(name, "images").to(ScalarType.Float64).clamp(0.01, 0.99);
            var prompts = Enumerable.Repeat("", (int)images.shape[0]).ToArray();
            var gradient = CentralDifferences.Autograd(x => scorer.Score(x, prompts).sum(), images);
            for (var d = 0; d < 3; d++)
            {
                var direction = randn(images.shape, dtype: ScalarType.Float64, generator: generator);
                var numeric = CentralDifferences.Directional(x => scorer.Score(x, prompts).sum().item<double>(), images, direction, h: 1e-5);
                var analytic = (gradient * direction).sum().item<double>();
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                    $"{name}, direction {d}: autograd {analytic:R} vs central difference {numeric:R}");
            }
        }
    }

    [Fact]
    public void Scorer_is_frozen_and_differentiable()
    {
        using var scorer = LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, AestheticFixture.MlpPath);
        Assert.True(scorer.IsDifferentiable);
        Assert.Equal("aesthetic", scorer.Name);
        Assert.All(scorer.Vision.parameters().Concat(scorer.Mlp.parameters()), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void Missing_files_and_bad_images_give_clear_errors()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<FileNotFoundException>(() => AestheticMlp.FromFile(Path.Combine(AestheticFixture.Folder, "missing.safetensors")));
        Assert.Throws<FileNotFoundException>(() => LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, Path.Combine(AestheticFixture.Folder, "missing.safetensors")));
        using var scorer = LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, AestheticFixture.MlpPath);
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Score(full([1, 3, 32, 32], 2f), ["x"]));
        Assert.Throws<ArgumentException>(() => scorer.Score(full([1, 3, 32, 32], 0.5f), ["x", "y"]));
    }
}
