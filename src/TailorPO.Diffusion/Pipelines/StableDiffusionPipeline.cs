using TailorPO.Core.Abstractions;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>
/// Stable Diffusion (v1.x / v2.x, epsilon prediction) assembled from a diffusers folder: tokenizer,
/// CLIP text encoder, UNet, VAE and DDIM schedule. Generates images from text, and hands preference
/// trainers the parts they compose: <see cref="NoisePredictor"/> for a sampler, <see cref="Decoder"/>
/// for step rewards, <see cref="EncodePrompts"/> for conditions.
/// </summary>
public sealed class StableDiffusionPipeline : IDisposable
{
    /// <summary>Assembles a pipeline from loaded parts (owned by the pipeline from now on).</summary>
    /// <exception cref="ModelConfigException">The parts do not fit together (names both configs and keys).</exception>
    public StableDiffusionPipeline(UNet2DConditionModel unet, AutoencoderKL vae, CLIPTextModel textEncoder,
        ClipTokenizer tokenizer, SchedulerConfig scheduler)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(textEncoder);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(scheduler);
        CheckCompatible(unet, vae, textEncoder, tokenizer);

        Unet = unet;
        Vae = vae;
        TextEncoder = textEncoder;
        Tokenizer = tokenizer;
        SchedulerConfig = scheduler;
        Schedule = new NoiseSchedule(scheduler);
        NoisePredictor = new UNetNoisePredictor(unet);
        Decoder = new VaeLatentDecoder(vae);
    }

    /// <summary>The denoising UNet (LoRA adapters attach here).</summary>
    public UNet2DConditionModel Unet { get; }

    /// <summary>The VAE.</summary>
    public AutoencoderKL Vae { get; }

    /// <summary>The CLIP text encoder.</summary>
    public CLIPTextModel TextEncoder { get; }

    /// <summary>The CLIP tokenizer.</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <summary>The scheduler config (scheduler/scheduler_config.json).</summary>
    public SchedulerConfig SchedulerConfig { get; }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>eps_theta over the UNet, for <see cref="DdimSampler"/> and trainers.</summary>
    public INoisePredictor NoisePredictor { get; }

    /// <summary>D: latents to images in [0, 1], for step rewards.</summary>
    public ILatentDecoder Decoder { get; }

    /// <summary>Pixels per latent cell (8 for SD).</summary>
    public int VaeScaleFactor => (int)Vae.Config.DownsamplingFactor;

    /// <summary>Default image side: the UNet's sample_size times <see cref="VaeScaleFactor"/>.</summary>
    public int DefaultImageSize => (Unet.Config.SampleSize ?? 64) * VaeScaleFactor;

    /// <summary>
    /// Loads a diffusers Stable Diffusion folder (<c>model_index.json</c> with unet, vae, text_encoder,
    /// tokenizer and scheduler sub-folders).
    /// </summary>
    /// <exception cref="FileNotFoundException">model_index.json or a part's file is missing (named).</exception>
    /// <exception cref="DirectoryNotFoundException">A component's folder is missing (named).</exception>
    /// <exception cref="ModelConfigException">A config is malformed or the parts do not fit together.</exception>
    public static StableDiffusionPipeline FromPretrained(string folder, StableDiffusionLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= new StableDiffusionLoadOptions();
        var root = Path.GetFullPath(folder);
        var index = ModelIndex.Load(root);
        foreach (var component in index.LoadedComponents)
        {
            var path = Path.Combine(root, component);
            if (!Directory.Exists(path))
                throw new DirectoryNotFoundException($"'{index.Source}' names the component '{component}', but the folder '{path}' does not exist.");
        }

        var schedulerPath = Path.Combine(root, "scheduler", "scheduler_config.json");
        if (!File.Exists(schedulerPath))
            throw new FileNotFoundException($"The scheduler config '{schedulerPath}' does not exist.", schedulerPath);
        var scheduler = SchedulerConfig.FromFile(schedulerPath, options.Limits.MaxTrainTimesteps);
        var tokenizer = ClipTokenizer.FromFolder(Path.Combine(root, "tokenizer"));

        UNet2DConditionModel? unet = null;
        AutoencoderKL? vae = null;
        CLIPTextModel? textEncoder = null;
        try
        {
            unet = UNet2DConditionModel.FromPretrained(Path.Combine(root, "unet"), options.ForPart(options.DType));
            vae = AutoencoderKL.FromPretrained(Path.Combine(root, "vae"), options.ForPart(options.VaeDType));
            textEncoder = CLIPTextModel.FromPretrained(Path.Combine(root, "text_encoder"), options.ForPart(options.DType));
            return new StableDiffusionPipeline(unet, vae, textEncoder, tokenizer, scheduler);
        }
        catch
        {
            unet?.Dispose();
            vae?.Dispose();
            textEncoder?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Encodes prompts (and, for guidance, negative prompts or the empty prompt) into a condition.
    /// The returned tensors are float32 in the caller's dispose scope.
    /// </summary>
    /// <param name="prompts">One prompt per batch element.</param>
    /// <param name="negativePrompts">Null for the empty prompt; otherwise one per prompt.</param>
    /// <param name="guidanceScale">CFG scale; 1 skips the unconditional branch entirely.</param>
    public DiffusionCondition EncodePrompts(IReadOnlyList<string> prompts, IReadOnlyList<string>? negativePrompts = null, double guidanceScale = 7.5)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Expected at least one prompt, got none.", nameof(prompts));
        if (negativePrompts is not null && negativePrompts.Count != prompts.Count)
            throw new ArgumentException($"Expected {prompts.Count} negative prompts (one per prompt); got {negativePrompts.Count}.", nameof(negativePrompts));
        if (!double.IsFinite(guidanceScale) || guidanceScale < 0)
            throw new ArgumentOutOfRangeException(nameof(guidanceScale), guidanceScale, "The guidance scale must be a finite number >= 0.");

        using var noGrad = no_grad();
        var embeddings = EncodeText(prompts);
        Tensor? negative = null;
        if (guidanceScale != 1.0)
            negative = EncodeText(negativePrompts ?? Enumerable.Repeat(string.Empty, prompts.Count).ToList());
        return new DiffusionCondition(prompts, embeddings, negative, guidanceScale);
    }

    /// <summary>Initial noise x_T ~ N(0, I), [batch, C, height / 8, width / 8], float32, from the generator.</summary>
    public Tensor InitialLatents(int batch, int height, int width, Generator generator)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must hold at least one image.");
        CheckImageSide(height, nameof(height));
        CheckImageSide(width, nameof(width));
        return randn(new long[] { batch, Unet.Config.InChannels, height / VaeScaleFactor, width / VaeScaleFactor },
            dtype: ScalarType.Float32, device: Unet.Device, generator: generator);
    }

    /// <summary>
    /// Text-to-image with DDIM and classifier-free guidance. Same request and seed give the same images.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (the message names the field).</exception>
    /// <exception cref="OperationCanceledException">Cancelled between steps.</exception>
    public TextToImageResult Generate(TextToImageRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Steps < 1) throw new ArgumentOutOfRangeException(nameof(request), request.Steps, "TextToImageRequest.Steps must be >= 1.");
        if (!double.IsFinite(request.Eta) || request.Eta < 0 || request.Eta > 1)
            throw new ArgumentOutOfRangeException(nameof(request), request.Eta, "TextToImageRequest.Eta must lie in [0, 1].");
        int height = request.Height ?? DefaultImageSize, width = request.Width ?? DefaultImageSize;

        var timesteps = new DdimTimesteps(SchedulerConfig, request.Steps);
        var math = new DdimStepMath(Schedule, timesteps);
        var generator = new Generator((ulong)request.Seed, Unet.Device);

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var condition = EncodePrompts(request.Prompts, request.NegativePrompts, request.GuidanceScale);
        var latents = InitialLatents(request.Prompts.Count, height, width, generator);
        for (int i = 0; i < timesteps.Values.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var t = full(latents.shape[0], timesteps.Values[i], ScalarType.Int64, latents.device);
            var eps = ClassifierFreeGuidance.Predict(NoisePredictor, latents, t, condition);
            var posterior = math.Posterior(latents, t, eps, request.Eta);
            var next = request.Eta > 0 ? DdimStepMath.Draw(posterior, 1, generator)[0] : posterior.Mean;
            latents = next.MoveToOuterDisposeScope();
            progress?.Report(new GenerationProgress(i + 1, timesteps.Values.Count, timesteps.Values[i]));
        }

        var images = Decoder.DecodeToImages(latents).cpu();
        return new TextToImageResult(images.MoveToOuterDisposeScope(), latents.MoveToOuterDisposeScope(), request.Prompts, request.Seed);
    }

    /// <summary>
    /// <see cref="Generate"/> on a worker thread (TorchSharp dispose scopes are per thread, so the whole
    /// generation runs on one thread).
    /// </summary>
    public Task<TextToImageResult> GenerateAsync(TextToImageRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        Unet.Dispose();
        Vae.Dispose();
        TextEncoder.Dispose();
    }

    private Tensor EncodeText(IReadOnlyList<string> prompts)
    {
        using var scope = NewDisposeScope();
        var batch = Tokenizer.EncodeForModel(prompts, (int)Math.Min(Tokenizer.ModelMaxLength, TextEncoder.Config.MaxPositionEmbeddings));
        var ids = batch.InputIdsTensor(Unet.Device);
        return TextEncoder.forward(ids).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    private void CheckImageSide(int pixels, string name)
    {
        if (pixels < VaeScaleFactor || pixels % VaeScaleFactor != 0)
            throw new ArgumentOutOfRangeException(name, pixels, $"Image {name} must be a positive multiple of {VaeScaleFactor} (the VAE's downsampling factor).");
    }

    private static void CheckCompatible(UNet2DConditionModel unet, AutoencoderKL vae, CLIPTextModel textEncoder, ClipTokenizer tokenizer)
    {
        var problems = new List<string>();
        if (unet.Config.CrossAttentionDim.Count > 0 && unet.Config.CrossAttentionDim.Any(d => d != textEncoder.Config.HiddenSize))
            problems.Add($"unet/config.json 'cross_attention_dim' [{string.Join(", ", unet.Config.CrossAttentionDim)}] differs from text_encoder/config.json 'hidden_size' {textEncoder.Config.HiddenSize}.");
        if (unet.Config.InChannels != vae.Config.LatentChannels)
            problems.Add($"unet/config.json 'in_channels' {unet.Config.InChannels} differs from vae/config.json 'latent_channels' {vae.Config.LatentChannels}.");
        if (tokenizer.VocabularySize > textEncoder.Config.VocabSize)
            problems.Add($"the tokenizer has {tokenizer.VocabularySize} tokens but text_encoder/config.json 'vocab_size' is {textEncoder.Config.VocabSize}.");
        if (problems.Count > 0)
            throw new ModelConfigException("Stable Diffusion pipeline", problems);
    }
}
