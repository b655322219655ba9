using TailorPO.Diffusion.Checkpoints;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// ImageReward (THUDM/ImageReward, ImageReward-v1.0): BLIP's ViT encodes the image into tokens, the med.py BERT
/// text encoder reads the prompt while cross-attending to them, an MLP maps its [CLS] state to a raw score, and the
/// reward is <c>(mlp(h_cls) - mean) / std</c> with the published mean 0.16717362830052426 and std 1.0333394966054072.
/// Images go through ReFL's differentiable preprocessing (<see cref="ImageRewardPreprocessor"/>), prompts through
/// the BERT WordPiece tokenizer (35 tokens). Differentiable with respect to the images; the network is frozen.
/// </summary>
/// <remarks>
/// Weights may be float32, float16 or bfloat16; the MLP output is normalised and returned in the images' precision
/// (float32, or float64 for float64 images). The released <c>ImageReward.pt</c> is pickled: docs/rewards.md says how
/// to turn it into the folder <see cref="FromPretrained"/> reads.
/// </remarks>
public sealed class ImageRewardScorer : RewardModelBase, IDisposable
{
    /// <summary>The reward's default name in metrics.</summary>
    public const string DefaultName = "imagereward";

    /// <summary>The weight file of a model folder (ImageReward.pt's state dict as safetensors).</summary>
    public const string WeightsFileName = "model.safetensors";

    private readonly ImageRewardNetwork _network;

    private ImageRewardScorer(ImageRewardNetwork network, BertWordPieceTokenizer tokenizer, string name)
    {
        _network = network;
        Tokenizer = tokenizer;
        Name = name;
        Preprocessor = new ImageRewardPreprocessor((int)network.Config.ImageSize);
        foreach (var parameter in network.parameters()) parameter.requires_grad_(false);
        var first = network.parameters().First();
        WeightType = first.dtype;
        WeightDevice = first.device;
        network.eval();
    }

    /// <summary>The module tree (for benchmarks' bare replays).</summary>
    internal ImageRewardNetwork Network => _network;

    /// <summary>The model's sizes and constants.</summary>
    public ImageRewardConfig Config => _network.Config;

    /// <summary>The image preprocessing.</summary>
    public ImageRewardPreprocessor Preprocessor { get; }

    /// <summary>The prompt tokenizer.</summary>
    public BertWordPieceTokenizer Tokenizer { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <summary>
    /// Loads an ImageReward folder: <c>med_config.json</c> and <c>imagereward_config.json</c> (see
    /// <see cref="ImageRewardConfig.FromFolder"/>), <see cref="WeightsFileName"/> (ImageReward.pt's keys) and
    /// <c>tokenizer/</c> (bert-base-uncased's <c>vocab.txt</c> plus BLIP's <c>added_tokens.json</c>).
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="dtype">Weight dtype (float32 default; float16/bfloat16; float64 for gradient checks).</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="name">The name in metrics.</param>
    /// <exception cref="FileNotFoundException">A file is missing (a pickled <c>ImageReward.pt</c> must be converted first).</exception>
    /// <exception cref="ModelConfigException">A config is malformed, unsupported or too big.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static ImageRewardScorer FromPretrained(string folder, ScalarType? dtype = null, Device? device = null, string name = DefaultName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"ImageReward folder '{full}' does not exist.");
        var options = new ModelLoadOptions { DType = dtype, Device = device };
        options.Validate();
        var config = ImageRewardConfig.FromFolder(full, options.Limits);
        var tokenizer = BertWordPieceTokenizer.FromFolder(Path.Combine(full, "tokenizer"));
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new ModelConfigException(Path.Combine(full, "tokenizer"),
                $"the tokenizer has {tokenizer.VocabularySize} tokens but the text encoder's vocabulary holds {config.VocabSize}.");
        var weights = ModelLoader.FindWeights(full, WeightsFileName, pickleTwin: null, options);
        using var file = TensorSource.Open(weights, options.ReadOptions);
        var network = ModelLoader.BuildForLoading(() => new ImageRewardNetwork(config), options);
        try
        {
            using (var view = ImageRewardCheckpoint.View(file, config))
                ModelLoader.LoadInto(network, view, options, ImageRewardCheckpoint.IsUnused);
            return new ImageRewardScorer(network, tokenizer, name);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Token ids and attention mask [B, <see cref="ImageRewardConfig.MaxLength"/>] of the prompts.</summary>
    public (Tensor InputIds, Tensor AttentionMask) Tokenize(IReadOnlyList<string> prompts) => Tokenizer.EncodeForModel(prompts, Config.MaxLength);

    /// <summary>The ViT's tokens [B, 1 + patches, Dv] of preprocessed pixel values (in the weights' dtype).</summary>
    internal Tensor ImageEmbeds(Tensor pixelValues) => _network.ImageEmbeds(pixelValues.to(WeightType, WeightDevice));

    /// <summary>The MLP input [B, H] (the text encoder's [CLS] state) for image tokens and prompts.</summary>
    internal Tensor MlpInput(Tensor imageEmbeds, IReadOnlyList<string> prompts)
    {
        var (ids, mask) = Tokenize(prompts);
        using (ids)
        using (mask)
            return _network.MlpInput(ids.to(WeightDevice), mask.to(WeightDevice), imageEmbeds);
    }

    /// <summary>The raw MLP output [B, 1].</summary>
    internal Tensor Mlp(Tensor features) => _network.Mlp(features);

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        using var scope = NewDisposeScope();
        var embeds = ImageEmbeds(Preprocessor.Preprocess(images));
        var raw = Mlp(MlpInput(embeds, prompts)).squeeze(1).to(images.dtype, images.device);
        return ((raw - Config.RewardMean) / Config.RewardStd).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => _network.Dispose();

    private ScalarType WeightType { get; }

    private Device WeightDevice { get; }
}
