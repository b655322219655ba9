using System.Text.Json;
using TailorPO.Rewards.Clip;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Hps;

/// <summary>
/// HPSv2's image preprocessing (open_clip's <c>ResizeMaxSize</c> + <c>Normalize</c>, its validation transform)
/// as a differentiable tensor function of images in [0, 1]: (1) scale the longer side to <see cref="ImageSize"/>:
/// <c>scale = size / max(H, W)</c>, sizes <c>round(H * scale)</c>, <c>round(W * scale)</c> with ties to even
/// (Python's <c>round</c>), torch's bicubic interpolation (a = -0.75, align_corners false, no antialias, no
/// clamping); (2) letter-box to a square with zeros: <c>left = pad_w // 2</c>, <c>top = pad_h // 2</c>, the rest
/// right and bottom; (3) normalise <c>(x - mean) / std</c>, so a padded pixel becomes <c>-mean / std</c>.
/// Nothing is cropped.
/// </summary>
/// <remarks>
/// open_clip skips steps 1 and 2 when the scale is exactly 1, so a non-square image whose longer side already
/// equals the size would reach its model unpadded and fail; here such an image is padded like any other.
/// torchvision 0.14's tensor resize (what HPSv2 was released with) has no antialiasing; torchvision &gt;= 0.17
/// antialiases by default, which changes scores of resized images by about 1e-3 (see docs/rewards.md).
/// </remarks>
public sealed class LetterboxPreprocessor
{
    /// <summary>Creates the preprocessor.</summary>
    /// <param name="imageSize">The square side the model takes, &gt;= 1.</param>
    /// <param name="mean">Per-channel mean (3 values); null for OpenAI CLIP's.</param>
    /// <param name="std">Per-channel std (3 values &gt; 0); null for OpenAI CLIP's.</param>
    /// <param name="fill">The value of padded pixels before normalising (open_clip's <c>fill_color</c>, 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">The size is below 1 or the fill is not finite.</exception>
    /// <exception cref="ArgumentException">mean or std is not 3 finite values (std &gt; 0).</exception>
    public LetterboxPreprocessor(int imageSize, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null, double fill = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        if (!double.IsFinite(fill)) throw new ArgumentOutOfRangeException(nameof(fill), fill, "fill must be finite.");
        // Step 3 is CLIP's normalisation (which also checks mean and std).
        _normalizer = new ClipImagePreprocessor(imageSize, imageSize, imageSize, mean, std, resize: false, centerCrop: false);
        ImageSize = imageSize;
        Fill = fill;
    }

    private readonly ClipImagePreprocessor _normalizer;

    /// <summary>The square side of the output.</summary>
    public int ImageSize { get; }

    /// <summary>Per-channel mean.</summary>
    public IReadOnlyList<double> Mean => _normalizer.Mean;

    /// <summary>Per-channel standard deviation.</summary>
    public IReadOnlyList<double> Std => _normalizer.Std;

    /// <summary>The value of padded pixels before normalising.</summary>
    public double Fill { get; }

    /// <summary>
    /// Reads the preprocessing parameters of an HPSv2 model folder's <c>preprocess_config.json</c>
    /// (<c>image_size</c>, <c>mean</c>, <c>std</c>, <c>fill</c>; absent keys take open_clip's defaults).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="defaultImageSize">The size when the file gives none (the vision tower's).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is malformed, sets <c>antialias</c> true or an interpolation other than bicubic.</exception>
    public static LetterboxPreprocessor FromFile(string path, int defaultImageSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Preprocess config '{path}' does not exist.", path);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (root.TryGetProperty("antialias", out var antialias) && antialias.ValueKind == JsonValueKind.True)
                throw new InvalidOperationException("'antialias' true is not supported (HPSv2 was released with torchvision 0.14's non-antialiased tensor resize).");
            if (root.TryGetProperty("interpolation", out var interpolation) && interpolation.GetString() != "bicubic")
                throw new InvalidOperationException($"'interpolation' {interpolation.GetRawText()} is not supported; HPSv2 resizes bicubic.");
            var size = root.TryGetProperty("image_size", out var s) ? s.GetInt32() : defaultImageSize;
            return new LetterboxPreprocessor(size, Triple(root, "mean"), Triple(root, "std"),
                root.TryGetProperty("fill", out var fill) ? fill.GetDouble() : 0);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new FormatException($"Preprocess config '{path}' is not a supported HPSv2 preprocessing config: {e.Message}", e);
        }
    }

    /// <summary>
    /// The resized size of an h x w image: the longer side becomes <paramref name="imageSize"/>, the other
    /// <c>round(side * imageSize / max(h, w))</c>, ties to even, computed in double precision as open_clip does.
    /// </summary>
    public static (long Height, long Width) ResizedSize(long height, long width, int imageSize)
    {
        var scale = imageSize / (double)Math.Max(height, width);
        return ((long)Math.Round(height * scale, MidpointRounding.ToEven), (long)Math.Round(width * scale, MidpointRounding.ToEven));
    }

    /// <summary>Runs the three steps on images [B, 3, H, W] in [0, 1]; differentiable.</summary>
    /// <exception cref="ArgumentException">The images are not [B, 3, H, W] floating-point.</exception>
    public Tensor Preprocess(Tensor images)
    {
        ImageBatchGuard.ValidateShapeAndType(images, nameof(images));
        using var scope = NewDisposeScope();
        long height = images.shape[2], width = images.shape[3];
        var (resizedHeight, resizedWidth) = ResizedSize(height, width, ImageSize);
        var resized = resizedHeight == height && resizedWidth == width
            ? images
            : nn.functional.interpolate(images, size: [resizedHeight, resizedWidth], mode: InterpolationMode.Bicubic, align_corners: false, antialias: false);
        long padHeight = ImageSize - resizedHeight, padWidth = ImageSize - resizedWidth;
        var boxed = padHeight == 0 && padWidth == 0
            ? resized
            : nn.functional.pad(resized, [padWidth / 2, padWidth - padWidth / 2, padHeight / 2, padHeight - padHeight / 2], TorchSharp.PaddingModes.Constant, Fill);
        return _normalizer.Normalize(boxed).MoveToOuterDisposeScope();
    }

    private static double[]? Triple(JsonElement root, string name) =>
        root.TryGetProperty(name, out var values) ? values.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
}
