using BenchmarkDotNet.Attributes;
using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Blip;
using TailorPO.Rewards.Hps;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// HPSv2 and ImageReward on the fixtures' tiny models at batch 2 (40x48 images, so the resize runs): score and
/// d score / d image through the public <see cref="IRewardModel.Score"/> (<see cref="Ours"/>, input checks, text
/// tokenisation and the one fused finiteness read included) against <see cref="BareLearnedRewards"/>, the same
/// ops with token ids prepared once (<see cref="BareReplay"/>, the baseline). Target ratio &lt;= 1.10. The tiny
/// models make the fixed per-call costs visible; with the real ViT-H / ViT-L models they are a smaller share.
/// </summary>
[MemoryDiagnoser]
public class RewardFloorBenchmarks
{
    private static readonly string[] Prompts = ["a photo of a cat sitting on a red sofa", "an astronaut riding a horse on mars, digital art"];

    private IRewardModel _reward = null!;
    private Func<Tensor, Tensor> _bare = null!;
    private Tensor _images = null!;
    private readonly List<Tensor> _held = [];

    /// <summary>"hpsv2" or "imagereward".</summary>
    [Params("hpsv2", "imagereward")]
    public string Reward { get; set; } = "hpsv2";

    /// <summary>Loads the fixture model and checks that the bare replay computes the same scores and gradients.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _images = rand([2, 3, 40, 48], generator: new Generator(7)).requires_grad_(true);
        if (Reward == "hpsv2")
        {
            var hps = new HpsV2Reward(OpenClipModel.FromPretrained(UNetConfigs.FixturePath("hpsv2")), ClipTokenizer.FromFolder(UNetConfigs.FixturePath("tokenizer")));
            var weights = hps.Model.Vision.state_dict().Concat(hps.Model.Text.state_dict()).ToDictionary(p => p.Key, p => p.Value);
            var ids = hps.Tokenize(Prompts);
            _held.Add(ids);
            _reward = hps;
            _bare = images => BareLearnedRewards.HpsV2(hps, weights, images, ids);
        }
        else
        {
            var scorer = ImageRewardScorer.FromPretrained(UNetConfigs.FixturePath("imagereward"));
            var weights = scorer.Network.state_dict();
            var (ids, mask) = scorer.Tokenize(Prompts);
            _held.AddRange([ids, mask]);
            _reward = scorer;
            _bare = images => BareLearnedRewards.ImageReward(scorer.Config, weights, images, ids, mask);
        }

        using var scope = NewDisposeScope();
        var (ours, oursGradient) = ScoreAndGradient(images => _reward.Score(images, Prompts));
        var (bare, bareGradient) = ScoreAndGradient(_bare);
        var scoreDiff = (ours - bare).abs().max().item<float>();
        var gradientDiff = (oursGradient - bareGradient).abs().max().item<float>();
        Console.WriteLine($"// {Reward}: max |score diff| {scoreDiff:E2}, max |gradient diff| {gradientDiff:E2}");
        if (scoreDiff > 1e-6 || gradientDiff > 1e-6 * Math.Max(1, bareGradient.abs().max().item<float>()))
            throw new InvalidOperationException("the bare replay does not compute the library's reward.");
    }

    /// <summary>Frees the model and inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        (_reward as IDisposable)?.Dispose();
        foreach (var t in _held) t.Dispose();
        _images.Dispose();
    }

    /// <summary>IRewardModel.Score on the batch, then backward to the images.</summary>
    [Benchmark]
    public void Ours()
    {
        _images.grad?.zero_();
        using var scope = NewDisposeScope();
        _reward.Score(_images, Prompts).sum().backward();
    }

    /// <summary>The bare replay of the same ops, then backward to the images.</summary>
    [Benchmark(Baseline = true)]
    public void BareReplay()
    {
        _images.grad?.zero_();
        using var scope = NewDisposeScope();
        _bare(_images).sum().backward();
    }

    private (Tensor Score, Tensor Gradient) ScoreAndGradient(Func<Tensor, Tensor> score)
    {
        _images.grad?.zero_();
        var value = score(_images);
        value.sum().backward();
        return (value.detach().clone(), _images.grad!.clone());
    }
}
