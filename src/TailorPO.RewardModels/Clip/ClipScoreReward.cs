using TailorPO.Diffusion.Clip;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tokenization;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Clip;

/// <summary>
/// A CLIP image-text score in PickScore's form: <c>exp(logit_scale) * cos(E_image(x), E_text(c))</c>,
/// with the image embedding from <see cref="ClipImagePreprocessor"/> + the CLIP vision tower and the
/// text embedding from the text tower (both projected into the joint space). Differentiable with
/// respect to the images; the text side runs without gradient.
/// </summary>
/// <remarks>
/// PickScore is this formula with the <c>yuvalkirstain/PickScore_v1</c> CLIP ViT-H/14 weights (its
/// exp(logit_scale) is about 100); with OpenAI's CLIP weights it is the usual 100 * cosine "CLIP
/// score". Prompts are tokenised with a <see cref="ClipTokenizer"/> (rows of the text model's context
/// length, padded as the tokenizer's folder says), or by a caller-supplied <c>tokenize</c> function
/// that returns int64 ids [B, S] padded as the text model expects. The towers are frozen.
/// </remarks>
public sealed class ClipScoreReward : RewardModelBase, IDisposable
{
    private readonly Func<IReadOnlyList<string>, Tensor> _tokenize;

    /// <summary>Creates the reward from loaded towers and a CLIP tokenizer; it takes ownership of the towers.</summary>
    /// <param name="vision">CLIP vision tower with projection.</param>
    /// <param name="text">CLIP text tower with projection (same joint dimension).</param>
    /// <param name="tokenizer">
    /// The CLIP tokenizer of the text tower (e.g. <c>ClipTokenizer.FromFolder</c> on the model's tokenizer files);
    /// rows are <see cref="ClipTokenizer.EncodeForModel"/>'s, at most the text tower's position count long.
    /// </param>
    /// <param name="logitScale">CLIP's learned log temperature; the score is multiplied by exp(logitScale).</param>
    /// <param name="preprocessor">Image preprocessing; null for CLIP's defaults at the vision tower's image size.</param>
    /// <param name="name">The name in metrics; default "clip-score".</param>
    /// <exception cref="ArgumentException">The tokenizer's ids do not fit the text tower's vocabulary or end-of-text pooling.</exception>
    public ClipScoreReward(CLIPVisionModelWithProjection vision, CLIPTextModelWithProjection text,
        ClipTokenizer tokenizer, double logitScale, ClipImagePreprocessor? preprocessor = null, string name = "clip-score")
        : this(vision, text, TokenizeWith(tokenizer, text), logitScale, preprocessor, name)
    {
    }

    /// <summary>Creates the reward from loaded towers; it takes ownership of them.</summary>
    /// <param name="vision">CLIP vision tower with projection.</param>
    /// <param name="text">CLIP text tower with projection (same joint dimension).</param>
    /// <param name="tokenize">Prompts to int64 token ids [B, S].</param>
    /// <param name="logitScale">CLIP's learned log temperature; the score is multiplied by exp(logitScale).</param>
    /// <param name="preprocessor">Image preprocessing; null for CLIP's defaults at the vision tower's image size.</param>
    /// <param name="name">The name in metrics; default "clip-score".</param>
    public ClipScoreReward(CLIPVisionModelWithProjection vision, CLIPTextModelWithProjection text,
        Func<IReadOnlyList<string>, Tensor> tokenize, double logitScale, ClipImagePreprocessor? preprocessor = null, string name = "clip-score")
    {
        ArgumentNullException.ThrowIfNull(vision);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenize);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!double.IsFinite(logitScale))
            throw new ArgumentOutOfRangeException(nameof(logitScale), logitScale, "logitScale must be finite.");
        if (vision.Config.ProjectionDim != text.Config.ProjectionDim)
            throw new ArgumentException(
                $"The vision projection dim ({vision.Config.ProjectionDim}) differs from the text projection dim ({text.Config.ProjectionDim}).", nameof(text));
        var size = (int)vision.Config.ImageSize;
        Preprocessor = preprocessor ?? new ClipImagePreprocessor(size, size, size);
        if (Preprocessor.CropHeight != size || Preprocessor.CropWidth != size)
            throw new ArgumentException(
                $"The preprocessor crops {Preprocessor.CropHeight}x{Preprocessor.CropWidth} but the vision model takes {size}x{size}.", nameof(preprocessor));
        Vision = vision;
        Text = text;
        LogitScale = logitScale;
        Name = name;
        _tokenize = tokenize;
        foreach (var parameter in vision.parameters().Concat(text.parameters()))
            parameter.requires_grad_(false);
        vision.eval();
        text.eval();
    }

    /// <summary>The vision tower.</summary>
    public CLIPVisionModelWithProjection Vision { get; }

    /// <summary>The text tower.</summary>
    public CLIPTextModelWithProjection Text { get; }

    /// <summary>The log temperature; the cosine is multiplied by exp(LogitScale).</summary>
    public double LogitScale { get; }

    /// <summary>The image preprocessing.</summary>
    public ClipImagePreprocessor Preprocessor { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <summary>
    /// Loads both towers and <c>logit_scale</c> from a transformers CLIPModel folder
    /// (<c>config.json</c> with text and vision sections, <c>model.safetensors</c>, optionally
    /// <c>preprocessor_config.json</c>).
    /// </summary>
    /// <param name="folder">The CLIPModel folder.</param>
    /// <param name="tokenizer">The text tower's CLIP tokenizer (see the constructor).</param>
    /// <param name="dtype">Weight dtype (float32 default; float16/bfloat16 on GPU; float64 for gradient checks).</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="name">The name in metrics; default "clip-score".</param>
    /// <exception cref="FormatException">The weights hold no <c>logit_scale</c>.</exception>
    /// <exception cref="ArgumentException">The tokenizer's ids do not fit the text tower.</exception>
    public static ClipScoreReward FromPretrained(string folder, ClipTokenizer tokenizer,
        ScalarType? dtype = null, Device? device = null, string name = "clip-score")
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Load(folder, (vision, text, logitScale, preprocessor) => new ClipScoreReward(vision, text, tokenizer, logitScale, preprocessor, name), dtype, device);
    }

    /// <summary>
    /// Loads both towers and <c>logit_scale</c> from a transformers CLIPModel folder
    /// (<c>config.json</c> with text and vision sections, <c>model.safetensors</c>, optionally
    /// <c>preprocessor_config.json</c>), tokenising with a function of your own.
    /// </summary>
    /// <param name="folder">The CLIPModel folder.</param>
    /// <param name="tokenize">Prompts to int64 token ids [B, S].</param>
    /// <param name="dtype">Weight dtype (float32 default; float16/bfloat16 on GPU; float64 for gradient checks).</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="name">The name in metrics; default "clip-score".</param>
    /// <exception cref="FormatException">The weights hold no <c>logit_scale</c>.</exception>
    public static ClipScoreReward FromPretrained(string folder, Func<IReadOnlyList<string>, Tensor> tokenize,
        ScalarType? dtype = null, Device? device = null, string name = "clip-score")
    {
        ArgumentNullException.ThrowIfNull(tokenize);
        return Load(folder, (vision, text, logitScale, preprocessor) => new ClipScoreReward(vision, text, tokenize, logitScale, preprocessor, name), dtype, device);
    }

    private static ClipScoreReward Load(string folder,
        Func<CLIPVisionModelWithProjection, CLIPTextModelWithProjection, double, ClipImagePreprocessor?, ClipScoreReward> create,
        ScalarType? dtype, Device? device)
    {
        var logitScale = ReadLogitScale(Path.Combine(folder, "model.safetensors"));
        var vision = CLIPVisionModelWithProjection.FromPretrained(folder, dtype, device);
        try
        {
            var text = CLIPTextModelWithProjection.FromPretrained(folder, dtype, device);
            try
            {
                var preprocessorFile = Path.Combine(folder, "preprocessor_config.json");
                var preprocessor = File.Exists(preprocessorFile) ? ClipImagePreprocessor.FromFile(preprocessorFile) : null;
                return create(vision, text, logitScale, preprocessor);
            }
            catch
            {
                text.Dispose();
                throw;
            }
        }
        catch
        {
            vision.Dispose();
            throw;
        }
    }

    /// <summary>L2-normalised image embeddings [B, D] of images in [0, 1] (differentiable).</summary>
    public Tensor NormalizedImageEmbeddings(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var output = Vision.Encode(Preprocessor.Preprocess(images));
        var embeddings = output.ImageEmbeds;
        return (embeddings / embeddings.norm(1, keepdim: true)).MoveToOuterDisposeScope();
    }

    /// <summary>L2-normalised text embeddings [B, D] of the prompts (no gradient).</summary>
    public Tensor NormalizedTextEmbeddings(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = _tokenize(prompts) ?? throw new InvalidOperationException("The tokenize function returned null.");
        if (ids.dim() != 2 || ids.shape[0] != prompts.Count)
            throw new InvalidOperationException(
                $"The tokenize function returned shape [{string.Join(", ", ids.shape)}] for {prompts.Count} prompt(s); expected token ids [{prompts.Count}, S].");
        using var output = Text.Encode(ids);
        var embeddings = output.TextEmbeds!;
        return (embeddings / embeddings.norm(1, keepdim: true)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var image = NormalizedImageEmbeddings(images);
        var text = NormalizedTextEmbeddings(prompts).to(image.dtype, image.device);
        var cosine = (image * text).sum(1);
        return (cosine * Math.Exp(LogitScale)).to(images.dtype, images.device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Vision.Dispose();
        Text.Dispose();
    }

    // The tokenizer as the text tower needs it: ids inside its vocabulary, the end token where its pooling
    // looks for it, rows no longer than its position embeddings.
    private static Func<IReadOnlyList<string>, Tensor> TokenizeWith(ClipTokenizer tokenizer, CLIPTextModelWithProjection text)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(text);
        var config = text.Config;
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new ArgumentException(
                $"The tokenizer has {tokenizer.VocabularySize} tokens but the text model's vocabulary holds {config.VocabSize}; use the model's own tokenizer.",
                nameof(tokenizer));
        if (!config.UsesLegacyArgmaxPooling && tokenizer.EosTokenId != config.EosTokenId)
            throw new ArgumentException(
                $"The tokenizer's end token is id {tokenizer.EosTokenId} but the text model pools at eos_token_id {config.EosTokenId}; use the model's own tokenizer.",
                nameof(tokenizer));
        var maxLength = (int)Math.Min(tokenizer.ModelMaxLength, config.MaxPositionEmbeddings);
        return prompts => tokenizer.EncodeForModel(prompts, maxLength).InputIdsTensor();
    }

    private static double ReadLogitScale(string weightsFile)
    {
        if (!File.Exists(weightsFile))
            throw new FileNotFoundException($"CLIP model weights '{weightsFile}' do not exist.", weightsFile);
        using var file = SafetensorsFile.Open(weightsFile);
        if (!file.Entries.ContainsKey("logit_scale"))
            throw new FormatException(
                $"'{weightsFile}' holds no 'logit_scale' (a full CLIPModel file is needed); construct ClipScoreReward directly with the scale instead.");
        using var scale = file.Read("logit_scale");
        return scale.to(ScalarType.Float64).item<double>();
    }
}
