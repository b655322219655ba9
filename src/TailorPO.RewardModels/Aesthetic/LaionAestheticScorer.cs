using TailorPO.Diffusion.Clip;
using TailorPO.Rewards.Clip;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Aesthetic;

/// <summary>
/// The LAION aesthetic score (DDPO's and the paper's "aesthetic" reward): CLIP image embedding of the
/// preprocessed image (<see cref="ClipImagePreprocessor"/>), L2-normalised, through
/// <see cref="AestheticMlp"/>. Differentiable end to end with respect to the images (reward guidance).
/// </summary>
/// <remarks>
/// The real model is CLIP ViT-L/14 (<c>openai/clip-vit-large-patch14</c>) with the 768-wide head of
/// <c>sac+logos+ava1-l14-linearMSE</c>. The scorer freezes both modules (requires_grad off): a reward
/// is never trained, and gradients still flow to the images. Images are cast to the vision model's
/// dtype; the score is returned as float32 (float64 when the images are float64).
/// </remarks>
public sealed class LaionAestheticScorer : RewardModelBase, IDisposable
{
    /// <summary>Creates the scorer from loaded parts; it takes ownership of the modules.</summary>
    public LaionAestheticScorer(CLIPVisionModelWithProjection vision, AestheticMlp mlp, ClipImagePreprocessor? preprocessor = null)
    {
        ArgumentNullException.ThrowIfNull(vision);
        ArgumentNullException.ThrowIfNull(mlp);
        if (vision.Config.ProjectionDim != mlp.InputDim)
            throw new ArgumentException(
                $"The CLIP projection dim ({vision.Config.ProjectionDim}) differs from the aesthetic head's input dim ({mlp.InputDim}).", nameof(mlp));
        Vision = vision;
        Mlp = mlp;
        var size = (int)vision.Config.ImageSize;
        Preprocessor = preprocessor ?? new ClipImagePreprocessor(size, size, size);
        if (Preprocessor.CropHeight != size || Preprocessor.CropWidth != size)
            throw new ArgumentException(
                $"The preprocessor crops {Preprocessor.CropHeight}x{Preprocessor.CropWidth} but the vision model takes {size}x{size}.", nameof(preprocessor));
        foreach (var parameter in vision.parameters().Concat(mlp.parameters()))
            parameter.requires_grad_(false);
        vision.eval();
        mlp.eval();
    }

    /// <summary>The CLIP vision tower with projection.</summary>
    public CLIPVisionModelWithProjection Vision { get; }

    /// <summary>The aesthetic head.</summary>
    public AestheticMlp Mlp { get; }

    /// <summary>The differentiable preprocessing.</summary>
    public ClipImagePreprocessor Preprocessor { get; }

    /// <inheritdoc />
    public override string Name => "aesthetic";

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <summary>
    /// Loads the CLIP vision model from a transformers folder (its <c>preprocessor_config.json</c> when
    /// present, CLIP's defaults at the model's image size otherwise) and the head from a safetensors file.
    /// </summary>
    /// <param name="clipFolder">Folder with <c>config.json</c> and <c>model.safetensors</c> (vision or full CLIP model).</param>
    /// <param name="mlpPath">The head's weights (keys <c>layers.{0,2,4,6,7}.{weight,bias}</c>).</param>
    /// <param name="dtype">Weight dtype (float32 default; float16/bfloat16 on GPU; float64 for gradient checks).</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    public static LaionAestheticScorer FromPretrained(string clipFolder, string mlpPath, ScalarType? dtype = null, Device? device = null)
    {
        var vision = CLIPVisionModelWithProjection.FromPretrained(clipFolder, dtype, device);
        try
        {
            var mlp = AestheticMlp.FromFile(mlpPath, dtype, device);
            var preprocessorFile = Path.Combine(clipFolder, "preprocessor_config.json");
            var preprocessor = File.Exists(preprocessorFile) ? ClipImagePreprocessor.FromFile(preprocessorFile) : null;
            return new LaionAestheticScorer(vision, mlp, preprocessor);
        }
        catch
        {
            vision.Dispose();
            throw;
        }
    }

    /// <summary>The L2-normalised image embeddings [B, D] of images in [0, 1] (what the head scores).</summary>
    public Tensor NormalizedImageEmbeddings(Tensor images)
    {
        using var scope = NewDisposeScope();
        var pixels = Preprocessor.Preprocess(images);
        using var output = Vision.Encode(pixels);
        var embeddings = output.ImageEmbeds;
        var normalized = embeddings / embeddings.norm(1, keepdim: true);
        return normalized.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var embeddings = NormalizedImageEmbeddings(images);
        var headType = Mlp.parameters().First().dtype;
        return Mlp.forward(embeddings.to(headType)).squeeze(1).to(images.dtype, images.device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Vision.Dispose();
        Mlp.Dispose();
    }
}
