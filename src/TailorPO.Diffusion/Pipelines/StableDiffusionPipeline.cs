using Microsoft.Extensions.Logging;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Numerics;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Threading;
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
/// <remarks>
/// A folder without a VAE (model_index.json has no "vae", or <c>"vae": [null, null]</c>) holds a
/// pixel-space model: the UNet denoises RGB images in [-1, 1] directly (in_channels 3),
/// <see cref="Vae"/> is null, <see cref="VaeScaleFactor"/> is 1 and <see cref="Decoder"/> is the
/// <see cref="PixelSpaceDecoder"/>. The samples CLI's embedded tiny model is such a folder.
/// </remarks>
public sealed class StableDiffusionPipeline : IDisposable
{
    /// <summary>Assembles a pipeline from loaded parts (owned by the pipeline from now on).</summary>
    /// <exception cref="ModelConfigException">The parts do not fit together (names both configs and keys).</exception>
    /// <param name="unet">The denoising UNet.</param>
    /// <param name="vae">The VAE, or null for a pixel-space model (the UNet then works on RGB, in_channels 3).</param>
    /// <param name="textEncoder">The CLIP text encoder.</param>
    /// <param name="tokenizer">The CLIP tokenizer.</param>
    /// <param name="scheduler">The scheduler config.</param>
    public StableDiffusionPipeline(UNet2DConditionModel unet, AutoencoderKL? vae, CLIPTextModel textEncoder,
        ClipTokenizer tokenizer, SchedulerConfig scheduler)
    {
        ArgumentNullException.ThrowIfNull(unet);
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
        Decoder = vae is null ? new PixelSpaceDecoder() : new VaeLatentDecoder(vae);
    }

    /// <summary>The denoising UNet (LoRA adapters attach here).</summary>
    public UNet2DConditionModel Unet { get; }

    /// <summary>The VAE; null for a pixel-space model (a folder without a <c>vae</c> component).</summary>
    public AutoencoderKL? Vae { get; }

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

    /// <summary>D: latents to images in [0, 1], for step rewards (the <see cref="PixelSpaceDecoder"/> without a VAE).</summary>
    public ILatentDecoder Decoder { get; }

    /// <summary>Pixels per latent cell (8 for SD; 1 for a pixel-space model).</summary>
    public int VaeScaleFactor => Vae is null ? 1 : (int)Vae.Config.DownsamplingFactor;

    /// <summary>Default image side: the UNet's sample_size times <see cref="VaeScaleFactor"/>.</summary>
    public int DefaultImageSize => (Unet.Config.SampleSize ?? 64) * VaeScaleFactor;

    /// <summary>
    /// Loads a diffusers Stable Diffusion folder (<c>model_index.json</c> with unet, text_encoder,
    /// tokenizer and scheduler sub-folders, and a vae sub-folder unless the index names no VAE: a
    /// pixel-space model).
    /// </summary>
    /// <exception cref="FileNotFoundException">model_index.json or a part's file is missing (named).</exception>
    /// <exception cref="DirectoryNotFoundException">A component's folder is missing (named).</exception>
    /// <exception cref="ModelConfigException">A config is malformed or the parts do not fit together.</exception>
    public static StableDiffusionPipeline FromPretrained(string folder, StableDiffusionLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= new StableDiffusionLoadOptions();
        TorchNumerics.EnsureGuarded(options.LoggerFactory?.CreateLogger(typeof(TorchNumerics).FullName!));
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
            if (index.HasVae)
                vae = AutoencoderKL.FromPretrained(Path.Combine(root, ModelIndex.VaeComponent), options.ForPart(options.VaeDType));
            textEncoder = CLIPTextModel.FromPretrained(Path.Combine(root, "text_encoder"), options.ForPart(options.DType));
            options.LoggerFactory?.CreateLogger<StableDiffusionPipeline>().LogInformation(
                "Loaded the pipeline in {Folder}: UNet, {Vae}, CLIP text encoder, a tokenizer of {Vocabulary} tokens, a {Timesteps}-step training schedule.",
                root, index.HasVae ? "VAE" : "no VAE (pixel space)", tokenizer.VocabularySize, scheduler.NumTrainTimesteps);
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

    /// <summary>
    /// Initial noise x_T ~ N(0, I), [batch, in_channels, height / <see cref="VaeScaleFactor"/>, width / <see cref="VaeScaleFactor"/>]
    /// (a pixel-space model: [batch, 3, height, width]), float32, from the generator.
    /// </summary>
    public Tensor InitialLatents(int batch, int height, int width, Generator generator)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must hold at least one image.");
        CheckImageSide(height, nameof(height));
        CheckImageSide(width, nameof(width));
        return randn(new long[] { batch, Unet.Config.InChannels, height / VaeScaleFactor, width / VaeScaleFactor },
            dtype: ScalarType.Float32, device: Unet.Device, generator: generator);
    }

    /// <summary>
    /// Maps images to the latents the UNet denoises: the VAE posterior's mean times the VAE's scaling factor (deterministic,
    /// where diffusers' training scripts draw a sample; the mean keeps offline pairs reproducible), or, for a pixel-space
    /// model, the images mapped to [-1, 1]. The inverse of <see cref="Decoder"/> up to the VAE's reconstruction error.
    /// </summary>
    /// <param name="images">RGB images in [0, 1], [B, 3, H, W], H and W multiples of <see cref="VaeScaleFactor"/>.</param>
    /// <returns>float32 latents [B, in_channels, H / <see cref="VaeScaleFactor"/>, W / <see cref="VaeScaleFactor"/>] on the UNet's device.</returns>
    /// <exception cref="ArgumentException">Wrong shape, dtype or image side.</exception>
    public Tensor EncodeImages(Tensor images)
    {
        Imaging.ImageTensors.ValidateBatch(images, nameof(images));
        CheckImageSide((int)images.shape[2], "height");
        CheckImageSide((int)images.shape[3], "width");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var scaled = images.to(ScalarType.Float32).to(Unet.Device) * 2 - 1;
        if (Vae is null) return scaled.MoveToOuterDisposeScope();
        using var posterior = Vae.Encode(scaled.to(Vae.Device));
        return (posterior.Mean.to(ScalarType.Float32).to(Unet.Device) * Vae.ScalingFactor).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Text-to-image with DDIM and classifier-free guidance. Same request and seed give the same images.
    /// </summary>
    /// <remarks>
    /// Cancellation as <see cref="GenerateAsync"/>'s: a token already cancelled throws before any work (no prompt is
    /// encoded); a cancellation while denoising stops at the next step and throws. Nothing is returned either way.
    /// </remarks>
    /// <exception cref="ArgumentException">The request is invalid (the message names the field).</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the first step or between steps.</exception>
    public TextToImageResult Generate(TextToImageRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        if (request.Steps < 1) throw new ArgumentOutOfRangeException(nameof(request), request.Steps, "TextToImageRequest.Steps must be >= 1.");
        if (!double.IsFinite(request.Eta) || request.Eta < 0 || request.Eta > 1)
            throw new ArgumentOutOfRangeException(nameof(request), request.Eta, "TextToImageRequest.Eta must lie in [0, 1].");
        int height = request.Height ?? DefaultImageSize, width = request.Width ?? DefaultImageSize;

        // Core's sampler runs the loop: eta > 0 draws from the run's generator, eta = 0 is deterministic DDIM.
        var sampler = DdimSampler.ForGeneration(NoisePredictor, Schedule, request.Steps, request.Eta);
        var generator = new Generator((ulong)request.Seed, Unet.Device);

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        DiffusionCondition condition;
        Tensor initial;
        // No operand freed under a native call (FinalizerGate); Denoise holds the gate per step, progress reports outside it.
        using (FinalizerGate.Close())
        {
            condition = EncodePrompts(request.Prompts, request.NegativePrompts, request.GuidanceScale);
            initial = InitialLatents(request.Prompts.Count, height, width, generator);
        }
        var steps = sampler.Timesteps.Count;
        var latents = sampler.Denoise(initial, condition, generator,
            (index, timestep) => progress?.Report(new GenerationProgress(index + 1, steps, timestep)), cancellationToken);

        using var decodeGate = FinalizerGate.Close();
        var images = Decoder.DecodeToImages(latents).cpu();
        return new TextToImageResult(images.MoveToOuterDisposeScope(), latents.MoveToOuterDisposeScope(), request.Prompts, request.Seed);
    }

    /// <summary>
    /// <see cref="Generate"/> on a worker thread (TorchSharp dispose scopes are per thread, so the whole generation runs
    /// on one thread), under <see cref="CancellableWork"/>'s contract, the same as <c>PreferenceTrainer.TrainAsync</c>'s.
    /// Cancelled before it starts: the task is cancelled and nothing runs. Cancelled while denoising: it stops at the
    /// next step and the task ends cancelled. Either way awaiting the task throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (the task faults with it).</exception>
    public Task<TextToImageResult> GenerateAsync(TextToImageRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        CancellableWork.RunAsync(token => Generate(request, progress, token), cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        Unet.Dispose();
        Vae?.Dispose();
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
            throw new ArgumentOutOfRangeException(name, pixels, Vae is null
                ? $"Image {name} must be a positive number of pixels."
                : $"Image {name} must be a positive multiple of {VaeScaleFactor} (the VAE's downsampling factor).");
    }

    private static void CheckCompatible(UNet2DConditionModel unet, AutoencoderKL? vae, CLIPTextModel textEncoder, ClipTokenizer tokenizer)
    {
        var problems = new List<string>();
        if (unet.Config.CrossAttentionDim.Count > 0 && unet.Config.CrossAttentionDim.Any(d => d != textEncoder.Config.HiddenSize))
            problems.Add($"unet/config.json 'cross_attention_dim' [{string.Join(", ", unet.Config.CrossAttentionDim)}] differs from text_encoder/config.json 'hidden_size' {textEncoder.Config.HiddenSize}.");
        if (vae is not null && unet.Config.InChannels != vae.Config.LatentChannels)
            problems.Add($"unet/config.json 'in_channels' {unet.Config.InChannels} differs from vae/config.json 'latent_channels' {vae.Config.LatentChannels}.");
        if (vae is null && (unet.Config.InChannels != 3 || unet.Config.OutChannels != 3))
            problems.Add($"without a VAE the model works on RGB pixels, so unet/config.json 'in_channels' and 'out_channels' must be 3; got {unet.Config.InChannels} and {unet.Config.OutChannels}.");
        if (tokenizer.VocabularySize > textEncoder.Config.VocabSize)
            problems.Add($"the tokenizer has {tokenizer.VocabularySize} tokens but text_encoder/config.json 'vocab_size' is {textEncoder.Config.VocabSize}.");
        if (problems.Count > 0)
            throw new ModelConfigException("Stable Diffusion pipeline", problems);
    }
}
