using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Hps;

/// <summary>
/// The Human Preference Score v2 (HPSv2 / HPSv2.1, tgxs002/HPSv2's <c>img_score</c>): the cosine of the
/// L2-normalised open_clip image and text features, <c>hps = normalize(encode_image(x)) · normalize(encode_text(c))</c>,
/// with no logit scale. Images are letter-boxed to the model's square size (<see cref="LetterboxPreprocessor"/>),
/// prompts tokenised by open_clip's CLIP BPE rule (zero-padded to the context length). Differentiable with
/// respect to the images; the text side runs without gradient; the towers are frozen.
/// </summary>
/// <remarks>
/// The published checkpoints (<c>HPS_v2_compressed.pt</c>, <c>HPS_v2.1_compressed.pt</c>) are open_clip ViT-H-14
/// models; docs/rewards.md says how to turn the pickled file into the safetensors folder this class reads. Weights
/// may be float32, float16 or bfloat16; features are normalised and the score computed in the images' precision
/// (float32, or float64 for float64 images).
/// </remarks>
public sealed class HpsV2Reward : RewardModelBase, IDisposable
{
    /// <summary>The reward's default name in metrics.</summary>
    public const string DefaultName = "hpsv2";

    /// <summary>The optional preprocessing file of a model folder.</summary>
    public const string PreprocessConfigFileName = "preprocess_config.json";

    /// <summary>openai/CLIP's (and open_clip's) BPE merges file, read when the folder has no <c>tokenizer/</c>.</summary>
    public const string BpeMergesFileName = "bpe_simple_vocab_16e6.txt.gz";

    private readonly ClipTokenizer _tokenizer;

    /// <summary>Creates the reward from a loaded open_clip model; it takes ownership of the model.</summary>
    /// <param name="model">The open_clip model (e.g. ViT-H-14 with HPSv2 weights).</param>
    /// <param name="tokenizer">The CLIP BPE tokenizer; rows are padded with id 0 as open_clip pads them.</param>
    /// <param name="preprocessor">Image preprocessing; null for HPSv2's at the vision tower's image size.</param>
    /// <param name="name">The name in metrics.</param>
    /// <exception cref="ArgumentException">The tokenizer does not fit the text tower, or the preprocessor's size is not the vision tower's.</exception>
    public HpsV2Reward(OpenClipModel model, ClipTokenizer tokenizer, LetterboxPreprocessor? preprocessor = null, string name = DefaultName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var size = (int)model.Config.Vision.ImageSize;
        Preprocessor = preprocessor ?? new LetterboxPreprocessor(size);
        if (Preprocessor.ImageSize != size)
            throw new ArgumentException($"The preprocessor letter-boxes to {Preprocessor.ImageSize} pixels but the vision tower takes {size}.", nameof(preprocessor));
        if (tokenizer.VocabularySize > model.Config.Text.VocabSize)
            throw new ArgumentException(
                $"The tokenizer has {tokenizer.VocabularySize} tokens but the text tower's vocabulary holds {model.Config.Text.VocabSize}; use the model's own tokenizer.", nameof(tokenizer));
        Model = model;
        Name = name;
        _tokenizer = tokenizer.PadTokenId == ClipTokenizer.OpenAiClipPadTokenId ? tokenizer : tokenizer.WithPadTokenId(ClipTokenizer.OpenAiClipPadTokenId);
        foreach (var parameter in model.Vision.parameters().Concat(model.Text.parameters()))
            parameter.requires_grad_(false);
        model.Vision.eval();
        model.Text.eval();
    }

    /// <summary>The open_clip model.</summary>
    public OpenClipModel Model { get; }

    /// <summary>The image preprocessing.</summary>
    public LetterboxPreprocessor Preprocessor { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <summary>
    /// Loads an HPSv2 model folder: <c>open_clip_config.json</c> and <c>model.safetensors</c> (see
    /// <see cref="OpenClipModel.FromPretrained"/>), the CLIP tokenizer from <c>tokenizer/</c> (<c>vocab.json</c> +
    /// <c>merges.txt</c>) or from <see cref="BpeMergesFileName"/>, and optionally <see cref="PreprocessConfigFileName"/>.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="dtype">Weight dtype (float32 default; float16/bfloat16; float64 for gradient checks).</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="name">The name in metrics.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="ModelConfigException">The config is malformed or unsupported.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static HpsV2Reward FromPretrained(string folder, ScalarType? dtype = null, Device? device = null, string name = DefaultName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        var tokenizer = LoadTokenizer(full);
        var model = OpenClipModel.FromPretrained(full, new ModelLoadOptions { DType = dtype, Device = device });
        try
        {
            var preprocessFile = Path.Combine(full, PreprocessConfigFileName);
            var preprocessor = File.Exists(preprocessFile) ? LetterboxPreprocessor.FromFile(preprocessFile, (int)model.Config.Vision.ImageSize) : null;
            return new HpsV2Reward(model, tokenizer, preprocessor, name);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Token ids [B, context length] of the prompts, as open_clip's <c>tokenize</c> lays them out.</summary>
    public Tensor Tokenize(IReadOnlyList<string> prompts) =>
        _tokenizer.EncodeForModel(prompts, (int)Model.Config.Text.MaxPositionEmbeddings).InputIdsTensor();

    /// <summary>L2-normalised image features [B, E] of images in [0, 1] (differentiable), in the images' dtype.</summary>
    public Tensor ImageFeatures(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var output = Model.Vision.Encode(Preprocessor.Preprocess(images));
        return Normalized(output.ImageEmbeds.to(images.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>L2-normalised text features [B, E] of the prompts (no gradient), float32.</summary>
    public Tensor TextFeatures(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var output = Model.Text.Encode(Tokenize(prompts));
        return Normalized(output.TextEmbeds!.to(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var image = ImageFeatures(images);
        var text = TextFeatures(prompts).to(image.dtype, image.device);
        return (image * text).sum(1);
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();

    // torch.nn.functional.normalize: x / max(||x||, 1e-12).
    private static Tensor Normalized(Tensor embeddings) => embeddings / embeddings.norm(1, keepdim: true).clamp_min(1e-12);

    private static ClipTokenizer LoadTokenizer(string folder)
    {
        var tokenizerFolder = Path.Combine(folder, "tokenizer");
        if (Directory.Exists(tokenizerFolder)) return ClipTokenizer.FromFolder(tokenizerFolder);
        var merges = Path.Combine(folder, BpeMergesFileName);
        if (File.Exists(merges)) return ClipTokenizer.FromBpeMergesFile(merges, ClipTokenizer.OpenAiClipPadTokenId);
        throw new FileNotFoundException(
            $"HPSv2 folder '{folder}' has no CLIP tokenizer: add a 'tokenizer/' folder (vocab.json + merges.txt, e.g. SD v1.5's) or open_clip's {BpeMergesFileName}.",
            tokenizerFolder);
    }
}
