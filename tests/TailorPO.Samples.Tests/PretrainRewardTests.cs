using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Clip;
using TailorPO.Samples.Cli;
using TailorPO.Samples.RewardPretraining;
using TailorPO.Shapes.Dataset;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary><c>pretrain-reward</c> and its one-attribute-off captions.</summary>
public class PretrainRewardTests
{
    // A model small enough to train a few steps in seconds (the command's size options at their minimum).
    private static readonly string[] TinyModel =
        ["--steps", "3", "--batch", "4", "--vision-width", "32", "--vision-layers", "1", "--text-width", "8", "--text-layers", "1",
         "--projection-dim", "8", "--eval-images", "8", "--threads", "1"];

    [Fact]
    public void Caption_variants_differ_from_the_scene_in_exactly_one_attribute_and_cover_every_other_value()
    {
        var dataset = new ShapeDataset(5);
        for (var index = 0; index < 40; index++)
        {
            var scene = dataset.Scene(index);
            var variants = CaptionVariants.For(scene);
            Assert.Equal(3 + 7 + 7 + 3, variants.Count);
            Assert.Equal(variants.Count, variants.Select(v => v.Caption).Append(scene.Caption).Distinct().Count() - 1);
            foreach (var variant in variants)
            {
                var changed = new List<SceneAttribute>();
                if (variant.Scene.Shape != scene.Shape) changed.Add(SceneAttribute.Shape);
                if (variant.Scene.Color.Name != scene.Color.Name) changed.Add(SceneAttribute.ShapeColor);
                if (variant.Scene.Background.Name != scene.Background.Name) changed.Add(SceneAttribute.BackgroundColor);
                if (variant.Scene.Texture != scene.Texture) changed.Add(SceneAttribute.Pattern);
                Assert.Equal([variant.Attribute], changed);
                Assert.Equal((scene.Size, scene.CenterX, scene.CenterY, scene.PatternOffset),
                    (variant.Scene.Size, variant.Scene.CenterX, variant.Scene.CenterY, variant.Scene.PatternOffset));
            }
            Assert.Equal(ShapeVocabulary.Shapes.Order(),
                variants.Where(v => v.Attribute == SceneAttribute.Shape).Select(v => v.Scene.Shape).Append(scene.Shape).Order());
            Assert.Equal(ShapeVocabulary.Colors.Select(c => c.Name).Order(),
                variants.Where(v => v.Attribute == SceneAttribute.ShapeColor).Select(v => v.Scene.Color.Name).Append(scene.Color.Name).Order());
            Assert.Equal(ShapeVocabulary.Colors.Select(c => c.Name).Order(),
                variants.Where(v => v.Attribute == SceneAttribute.BackgroundColor).Select(v => v.Scene.Background.Name).Append(scene.Background.Name).Order());
            Assert.Equal(ShapeVocabulary.Textures.Order(),
                variants.Where(v => v.Attribute == SceneAttribute.Pattern).Select(v => v.Scene.Texture).Append(scene.Texture).Order());
        }
        Assert.Equal(4 * 8 * 4 * 8, CaptionVariants.AllCaptionScenes().Select(s => s.Caption).Distinct().Count());
    }

    [Fact]
    public void A_short_run_writes_a_float16_clip_model_folder_that_the_clip_score_reward_loads_deterministically_per_seed()
    {
        using var folder = new TemporaryFolder();
        var first = folder.Combine("first");
        var (code, output) = CliRunner.Run(["pretrain-reward", "-o", first, "--seed", "7", .. TinyModel]);
        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("| shape |", output);
        Assert.Contains("caption side, held-out", File.ReadAllText(Path.Combine(first, RewardPretrainer.ReportFile)));
        foreach (var file in new[] { "config.json", "model.safetensors", "preprocessor_config.json", "vocab.json", "merges.txt", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(first, file)), file);

        using (var weights = SafetensorsFile.Open(Path.Combine(first, "model.safetensors")))
        {
            Assert.All(weights.Entries.Values, e => Assert.Equal("F16", e.DType));
            Assert.Contains("logit_scale", weights.Entries.Keys);
            Assert.Contains("visual_projection.weight", weights.Entries.Keys);
            Assert.Contains("text_projection.weight", weights.Entries.Keys);
        }

        // Loaded exactly as PickScore would be: the folder and its own tokenizer files.
        using (var reward = ClipScoreReward.FromPretrained(first, ClipTokenizer.FromFolder(first)))
        {
            using var scope = NewDisposeScope();
            var scenes = Enumerable.Range(0, 3).Select(i => new ShapeDataset(1, DatasetSplit.HeldOut).Scene(i)).ToList();
            var images = (ShapeDataset.Render(scenes, 32) + 1) / 2;
            var captions = scenes.Select(s => s.Caption).ToList();
            var scores = reward.Score(images, captions);
            Assert.Equal([3L], scores.shape);
            var expected = (reward.NormalizedImageEmbeddings(images) * reward.NormalizedTextEmbeddings(captions)).sum(1) * Math.Exp(reward.LogitScale);
            Assert.True(allclose(scores, expected, rtol: 1e-4, atol: 1e-5), $"{string.Join(", ", scores.data<float>().ToArray())} vs {string.Join(", ", expected.data<float>().ToArray())}");
            Assert.InRange(Math.Exp(reward.LogitScale), 1, 100.1);
        }

        var same = folder.Combine("same");
        Assert.Equal(ExitCodes.Success, CliRunner.Run(["pretrain-reward", "-o", same, "--seed", "7", .. TinyModel]).ExitCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "model.safetensors")), File.ReadAllBytes(Path.Combine(same, "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(first, RewardPretrainer.ReportFile)), File.ReadAllText(Path.Combine(same, RewardPretrainer.ReportFile)));

        var other = folder.Combine("other");
        Assert.Equal(ExitCodes.Success, CliRunner.Run(["pretrain-reward", "-o", other, "--seed", "8", .. TinyModel]).ExitCode);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(first, "model.safetensors")), File.ReadAllBytes(Path.Combine(other, "model.safetensors")));
    }

    [Fact]
    public void Bad_pretrain_reward_settings_are_refused_with_messages_that_name_them()
    {
        using var folder = new TemporaryFolder();
        var (code, output) = CliRunner.Run("pretrain-reward", "-o", folder.Combine("m"), "--steps", "0", "--batch", "1", "--patch-size", "5",
            "--vision-width", "100", "--shape-weight", "-1", "--time-limit", "0", "--tokenizer", folder.Combine("no-tokenizer"));
        Assert.Equal(ExitCodes.BadInput, code);
        foreach (var expected in new[] { "--steps", "--batch must be >= 2", "--patch-size must divide", "--vision-width", "--shape-weight", "--time-limit", "no-tokenizer" })
            Assert.Contains(expected, output);
        Assert.False(Directory.Exists(folder.Combine("m")));

        (code, output) = CliRunner.Run("pretrain-reward", "-o", folder.Combine("m"), "--text-width", "256");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("MB in float16; the limit is 10 MB", output);
        Assert.False(Directory.Exists(folder.Combine("m")));
    }
}
