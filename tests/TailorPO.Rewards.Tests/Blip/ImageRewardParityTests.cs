using TailorPO.Rewards.Blip;
using TailorPO.Rewards.Tests.Hps;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Blip;

/// <summary>
/// Parity of <see cref="ImageRewardScorer"/> with THUDM/ImageReward (tests/fixtures/imagereward; tolerances from its
/// README: pixel values 1e-5, image embeds / MLP input / reward 1e-4, image gradient 1e-3 of its max, ids exact).
/// </summary>
public class ImageRewardParityTests(ITestOutputHelper output)
{
    internal static string Folder => FixtureRoot.Combine("imagereward");

    internal static FixtureCases LoadCases() => FixtureCases.Load("imagereward", "cases.safetensors");

    internal static string[] Prompts(FixtureCases cases, string caseName) => cases.CaseStrings(caseName, "prompts");

    [Fact]
    public void Reward_matches_score_gard_for_every_case()
    {
        using var scope = NewDisposeScope();
        using var scorer = ImageRewardScorer.FromPretrained(Folder);
        using var cases = LoadCases();
        Assert.NotEmpty(cases.CaseNames());
        foreach (var name in cases.CaseNames())
        {
            var reward = scorer.Score(cases.Get(name, "images"), Prompts(cases, name));
            Assert.Equal(ScalarType.Float32, reward.dtype);
            TensorAssert.Close(cases.Get(name, "reward"), reward, atol: 1e-4, what: $"{name}.reward");
            output.WriteLine($"{name}: max |reward - expected| = {TensorAssert.MaxAbsDifference(cases.Get(name, "reward"), reward):E2}");
        }
    }

    [Fact]
    public void Image_gradient_matches_the_reference_autograd_gradient()
    {
        using var scope = NewDisposeScope();
        using var scorer = ImageRewardScorer.FromPretrained(Folder);
        using var cases = LoadCases();
        foreach (var name in cases.CaseNames())
        {
            var images = cases.Get(name, "images").detach().clone().requires_grad_(true);
            scorer.Score(images, Prompts(cases, name)).sum().backward();
            var relative = HpsV2Fixture.AssertGradientClose(cases.Get(name, "grad_images"), images.grad!, $"{name}.grad_images");
            output.WriteLine($"{name}: max |grad - expected| / max |expected| = {relative:E2}");
        }
    }

    [Fact]
    public void Pixel_values_image_embeds_mlp_input_and_output_match_the_reference()
    {
        using var scope = NewDisposeScope();
        using var scorer = ImageRewardScorer.FromPretrained(Folder);
        using var cases = LoadCases();
        foreach (var name in cases.CaseNames())
        {
            var prompts = Prompts(cases, name);
            var pixels = scorer.Preprocessor.Preprocess(cases.Get(name, "images"));
            TensorAssert.Close(cases.Get(name, "pixel_values"), pixels, atol: 1e-5, what: $"{name}.pixel_values");
            var embeds = scorer.ImageEmbeds(cases.Get(name, "pixel_values"));
            TensorAssert.Close(cases.Get(name, "image_embeds"), embeds, atol: 1e-4, what: $"{name}.image_embeds");
            var (ids, mask) = scorer.Tokenize(prompts);
            Assert.Equal(cases.Get(name, "input_ids").data<long>().ToArray(), ids.data<long>().ToArray());
            Assert.Equal(cases.Get(name, "attention_mask").data<long>().ToArray(), mask.data<long>().ToArray());
            var features = scorer.MlpInput(cases.Get(name, "image_embeds"), prompts);
            TensorAssert.Close(cases.Get(name, "mlp_input"), features, atol: 1e-4, what: $"{name}.mlp_input");
            var raw = scorer.Mlp(cases.Get(name, "mlp_input"));
            TensorAssert.Close(cases.Get(name, "mlp_output"), raw, atol: 1e-4, what: $"{name}.mlp_output");
            output.WriteLine($"{name}: pixel_values {TensorAssert.MaxAbsDifference(cases.Get(name, "pixel_values"), pixels):E2}, " +
                $"image_embeds {TensorAssert.MaxAbsDifference(cases.Get(name, "image_embeds"), embeds):E2}, " +
                $"mlp_input {TensorAssert.MaxAbsDifference(cases.Get(name, "mlp_input"), features):E2}");
        }
    }

    [Fact]
    public void Reward_constants_come_from_the_fixture()
    {
        using var scorer = ImageRewardScorer.FromPretrained(Folder);
        using var cases = LoadCases();
        Assert.Equal(cases["reward_mean"].item<double>(), scorer.Config.RewardMean);
        Assert.Equal(cases["reward_std"].item<double>(), scorer.Config.RewardStd);
        var name = cases.CaseNames()[0];
        Assert.Equal(cases.Get(name, "input_ids").shape[1], scorer.Config.MaxLength);
        Assert.Equal(cases.Get(name, "pixel_values").shape[2], scorer.Config.ImageSize);
        Assert.Equal(cases.Get(name, "image_embeds").shape[1], scorer.Config.NumPositions);
        Assert.Equal(cases.Get(name, "mlp_input").shape[1], scorer.Config.HiddenSize);
    }

    [Fact]
    public void Pil_path_values_equal_the_tensor_path_where_no_resize_happens()
    {
        // The README: the PIL path differs (Pillow's antialiased uint8 resize) whenever a resize happens, and agrees
        // exactly otherwise; only the no-resize cases are compared.
        using var scope = NewDisposeScope();
        using var scorer = ImageRewardScorer.FromPretrained(Folder);
        using var cases = LoadCases();
        var compared = 0;
        foreach (var name in cases.CaseNames().Where(n => cases.Has($"{n}.pil_reward")))
        {
            var images = cases.Get(name, "images");
            if (images.shape[2] != scorer.Config.ImageSize || images.shape[3] != scorer.Config.ImageSize) continue;
            TensorAssert.Close(cases.Get(name, "pil_pixel_values"), scorer.Preprocessor.Preprocess(images), atol: 1e-5, what: $"{name}.pil_pixel_values");
            var prompts = Prompts(cases, name);
            TensorAssert.Close(cases.Get(name, "pil_reward"), scorer.Score(images, prompts), atol: 1e-4, what: $"{name}.pil_reward");
            // score_api_matrix[i, j] = ImageReward.score(prompts[j], image i).
            var matrix = cases.Get(name, "score_api_matrix");
            for (var j = 0; j < prompts.Length; j++)
            {
                var column = scorer.Score(images, Enumerable.Repeat(prompts[j], prompts.Length).ToArray());
                TensorAssert.Close(matrix[.., j], column, atol: 1e-4, what: $"{name}.score_api_matrix[:, {j}]");
            }
            compared++;
        }
        output.WriteLine($"{compared} no-resize PIL case(s) compared.");
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 5e-2)]
    [InlineData(ScalarType.Float16, 5e-3)]
    public void Half_precision_weights_give_a_float32_reward_close_to_the_reference(ScalarType dtype, double atol)
    {
        using var scope = NewDisposeScope();
        using var scorer = ImageRewardScorer.FromPretrained(Folder, dtype);
        using var cases = LoadCases();
        foreach (var name in cases.CaseNames())
        {
            var images = cases.Get(name, "images").detach().clone().requires_grad_(true);
            var reward = scorer.Score(images, Prompts(cases, name));
            Assert.Equal(ScalarType.Float32, reward.dtype);
            TensorAssert.Close(cases.Get(name, "reward"), reward, atol: atol, what: $"{name}.reward ({dtype} weights)");
            reward.sum().backward();
            Assert.True(images.grad!.isfinite().all().item<bool>());
            output.WriteLine($"{name} ({dtype}): max |reward - expected| = {TensorAssert.MaxAbsDifference(cases.Get(name, "reward"), reward):E2}");
        }
    }

    [Fact]
    public void Crop_origin_rounds_half_to_even_as_torchvision()
    {
        // (h - size) / 2 = 4.5 -> 4, 1.5 -> 2, 0.5 -> 0, 3 -> 3.
        Assert.Equal((4L, 2L), ImageRewardPreprocessor.CropOrigin(41, 35, 32));
        Assert.Equal((0L, 3L), ImageRewardPreprocessor.CropOrigin(33, 38, 32));
    }
}
