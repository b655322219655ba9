using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Clip;
using TailorPO.Rewards.Tests.Analytic;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Clip;

public class ClipScoreRewardTests
{
    private static readonly string[] Prompts = ["a cat", "a red car"];

    [Fact]
    public void Score_is_exp_logit_scale_times_the_cosine_of_image_and_text_embeddings()
    {
        using var scope = NewDisposeScope();
        using var folder = new ClipModelFolder(logitScale: Math.Log(100));
        using var reward = ClipScoreReward.FromPretrained(folder.Path, folder.Tokenize);
        Assert.Equal(Math.Log(100), reward.LogitScale, 1e-6);
        var images = TestImages.Random(seed: 4, b: 2, h: 40, w: 36, dtype: ScalarType.Float32);

        var scores = reward.Score(images, Prompts).data<float>().ToArray();

        // Independent cosine of the towers' raw outputs.
        AssertScoresAreScaledCosines(reward, images, folder.Tokenize(Prompts), scale: 100, scores);
    }

    [Fact]
    public void Score_depends_on_the_prompt()
    {
        using var scope = NewDisposeScope();
        using var folder = new ClipModelFolder(logitScale: 2.0);
        using var reward = ClipScoreReward.FromPretrained(folder.Path, folder.Tokenize);
        var image = TestImages.Random(seed: 4, b: 1, h: 32, w: 32, dtype: ScalarType.Float32);
        var first = reward.Score(image, ["a cat"]).item<float>();
        var second = reward.Score(image, ["zebra!"]).item<float>();
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Clip_score_gradient_matches_directional_central_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var folder = new ClipModelFolder(logitScale: Math.Log(100));
        using var reward = ClipScoreReward.FromPretrained(folder.Path, folder.Tokenize, dtype: ScalarType.Float64);
        var images = TestImages.Random(seed: 6, b: 2, h: 36, w: 40);
        var gradient = CentralDifferences.Autograd(x => reward.Score(x, Prompts).sum(), images);
        using var generator = new Generator(3);
        for (var d = 0; d < 3; d++)
        {
            var direction = randn(images.shape, dtype: ScalarType.Float64, generator: generator);
            var numeric = CentralDifferences.Directional(x => reward.Score(x, Prompts).sum().item<double>(), images, direction, h: 1e-5);
            var analytic = (gradient * direction).sum().item<double>();
            Assert.True(Math.Abs(numeric - analytic) <= 1e-5 + 1e-5 * Math.Abs(numeric), $"direction {d}: autograd {analytic:R} vs central difference {numeric:R}");
        }
        Assert.True(reward.IsDifferentiable);
        Assert.All(reward.Vision.parameters().Concat(reward.Text.parameters()), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void A_tokenizer_returning_the_wrong_batch_and_a_file_without_logit_scale_give_clear_errors()
    {
        using var scope = NewDisposeScope();
        using var folder = new ClipModelFolder(logitScale: 1.0);
        using var reward = ClipScoreReward.FromPretrained(folder.Path, prompts => folder.Tokenize([.. prompts, "extra"]));
        var error = Assert.Throws<InvalidOperationException>(() => reward.Score(TestImages.Random(seed: 1, h: 32, w: 32, dtype: ScalarType.Float32), Prompts));
        Assert.Contains("tokenize", error.Message);

        var visionOnly = FixtureRoot.Combine("aesthetic");
        Assert.Throws<FormatException>(() => ClipScoreReward.FromPretrained(visionOnly, folder.Tokenize));
    }

    [Fact]
    public void A_clip_tokenizer_scores_with_the_text_embeddings_of_its_model_rows()
    {
        using var scope = NewDisposeScope();
        using var folder = new ClipModelFolder(logitScale: Math.Log(100));
        var tokenizer = ClipTokenizer.FromFolder(folder.TokenizerPath);
        using var reward = ClipScoreReward.FromPretrained(folder.Path, tokenizer);
        var images = TestImages.Random(seed: 4, b: 2, h: 40, w: 36, dtype: ScalarType.Float32);

        var scores = reward.Score(images, Prompts).data<float>().ToArray();

        // The rows the text tower must see: bos + BPE ids + eos, padded to the context length.
        var rows = tokenizer.EncodeForModel(Prompts);
        Assert.Equal(tokenizer.ModelMaxLength, rows.Length);
        Assert.All(Enumerable.Range(0, rows.BatchSize), b => Assert.Equal(tokenizer.BosTokenId, rows.InputIds[b, 0]));
        AssertScoresAreScaledCosines(reward, images, rows.InputIdsTensor(), scale: 100, scores);
    }

    [Fact]
    public void A_tokenizer_whose_ids_exceed_the_text_vocabulary_is_rejected_when_the_reward_is_built()
    {
        using var folder = new ClipModelFolder(logitScale: 1.0);
        var fullVocabulary = ClipTokenizer.FromFolder(FixtureRoot.Combine("tokenizer"));
        var error = Assert.Throws<ArgumentException>(() => ClipScoreReward.FromPretrained(folder.Path, fullVocabulary));
        Assert.Equal("tokenizer", error.ParamName);
        Assert.Contains(fullVocabulary.VocabularySize.ToString(), error.Message);
        Assert.Contains(folder.VocabSize.ToString(), error.Message);
    }

    /// <summary>scale * cos(image embedding, text embedding) per row, from the towers' raw outputs in float64.</summary>
    private static void AssertScoresAreScaledCosines(ClipScoreReward reward, Tensor images, Tensor ids, double scale, float[] scores)
    {
        using var vision = reward.Vision.Encode(reward.Preprocessor.Preprocess(images));
        using var text = reward.Text.Encode(ids);
        var imageEmbeds = vision.ImageEmbeds.to(ScalarType.Float64).data<double>().ToArray();
        var textEmbeds = text.TextEmbeds!.to(ScalarType.Float64).data<double>().ToArray();
        var dim = (int)vision.ImageEmbeds.shape[1];
        for (var b = 0; b < scores.Length; b++)
        {
            var a = imageEmbeds.Skip(b * dim).Take(dim).ToArray();
            var t = textEmbeds.Skip(b * dim).Take(dim).ToArray();
            var cosine = a.Zip(t, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * t.Sum(y => y * y));
            Assert.Equal(scale * cosine, scores[b], 1e-3);
        }
    }
}
