using System.Globalization;
using System.Text.Json;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Clip;

/// <summary>
/// CLIP's image preprocessing as a differentiable tensor function of images in [0, 1], following
/// transformers' <c>CLIPImageProcessor</c> rules for sizes: (1) resize so that the shorter edge becomes
/// <see cref="ShortestEdge"/> and the longer <c>floor(shortest * long / short)</c>, with torch's bicubic
/// interpolation (a = -0.75, align_corners false, no antialias, no clamping), skipped when the size
/// already matches; (2) centre crop with <c>top = (h - crop_h) // 2</c>, <c>left = (w - crop_w) // 2</c>;
/// (3) normalise <c>(x - mean) / std</c> per channel.
/// </summary>
/// <remarks>
/// transformers itself resizes uint8 PIL images with an antialiased bicubic filter; that path is
/// not differentiable and differs slightly (e.g. 3e-2 on a tiny aesthetic score when downscaling
/// 40x48 to 32 pixels; 2e-3 without resize). This tensor path is what reward gradients need.
/// </remarks>
public sealed class ClipImagePreprocessor
{
    /// <summary>OpenAI CLIP's per-channel mean.</summary>
    public static readonly IReadOnlyList<double> ClipMean = [0.48145466, 0.4578275, 0.40821073];

    /// <summary>OpenAI CLIP's per-channel standard deviation.</summary>
    public static readonly IReadOnlyList<double> ClipStd = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>Creates the preprocessor (defaults: CLIP ViT at 224 pixels).</summary>
    /// <param name="shortestEdge">Target length of the shorter edge, &gt;= 1.</param>
    /// <param name="cropHeight">Crop height, 1..shortestEdge.</param>
    /// <param name="cropWidth">Crop width, 1..shortestEdge.</param>
    /// <param name="mean">Per-channel mean (3 values); null for CLIP's.</param>
    /// <param name="std">Per-channel std (3 values &gt; 0); null for CLIP's.</param>
    /// <param name="resize">Apply step 1.</param>
    /// <param name="centerCrop">Apply step 2.</param>
    /// <param name="normalize">Apply step 3.</param>
    public ClipImagePreprocessor(int shortestEdge = 224, int cropHeight = 224, int cropWidth = 224,
        IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null,
        bool resize = true, bool centerCrop = true, bool normalize = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shortestEdge, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cropHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cropWidth, 1);
        if (resize && centerCrop && (cropHeight > shortestEdge || cropWidth > shortestEdge))
            throw new ArgumentOutOfRangeException(nameof(cropHeight),
                $"The crop ({cropHeight}x{cropWidth}) must fit inside the resized image (shorter edge {shortestEdge}); padding crops are not supported.");
        mean ??= ClipMean;
        std ??= ClipStd;
        if (mean.Count != 3 || mean.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("mean must hold 3 finite values (one per RGB channel).", nameof(mean));
        if (std.Count != 3 || std.Any(v => !double.IsFinite(v) || v <= 0))
            throw new ArgumentException("std must hold 3 finite values > 0 (one per RGB channel).", nameof(std));
        ShortestEdge = shortestEdge;
        CropHeight = cropHeight;
        CropWidth = cropWidth;
        Mean = mean.ToArray();
        Std = std.ToArray();
        DoResize = resize;
        DoCenterCrop = centerCrop;
        DoNormalize = normalize;
    }

    /// <summary>Target length of the shorter edge.</summary>
    public int ShortestEdge { get; }

    /// <summary>Crop height.</summary>
    public int CropHeight { get; }

    /// <summary>Crop width.</summary>
    public int CropWidth { get; }

    /// <summary>Per-channel mean.</summary>
    public IReadOnlyList<double> Mean { get; }

    /// <summary>Per-channel standard deviation.</summary>
    public IReadOnlyList<double> Std { get; }

    /// <summary>Whether step 1 runs.</summary>
    public bool DoResize { get; }

    /// <summary>Whether step 2 runs.</summary>
    public bool DoCenterCrop { get; }

    /// <summary>Whether step 3 runs.</summary>
    public bool DoNormalize { get; }

    /// <summary>
    /// Reads a transformers <c>preprocessor_config.json</c> (<c>size.shortest_edge</c>, <c>crop_size</c>,
    /// <c>image_mean</c>, <c>image_std</c>, <c>do_resize</c>, <c>do_center_crop</c>, <c>do_normalize</c>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not a CLIP image processor config this class supports.</exception>
    public static ClipImagePreprocessor FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Preprocessor config '{path}' does not exist.", path);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            var shortest = ReadShortestEdge(root, path);
            var (cropHeight, cropWidth) = ReadCrop(root, shortest);
            return new ClipImagePreprocessor(
                shortest, cropHeight, cropWidth,
                ReadTriple(root, "image_mean") ?? ClipMean,
                ReadTriple(root, "image_std") ?? ClipStd,
                ReadBool(root, "do_resize"), ReadBool(root, "do_center_crop"), ReadBool(root, "do_normalize"));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"Preprocessor config '{path}' is not a supported CLIPImageProcessor config: {e.Message}", e);
        }
    }

    /// <summary>transformers' output size for a shortest-edge resize of an h x w image: (height, width).</summary>
    public static (long Height, long Width) ResizedSize(long height, long width, long shortestEdge)
    {
        if (width <= height)
            return ((long)Math.Floor((double)(shortestEdge * height) / width), shortestEdge);
        return (shortestEdge, (long)Math.Floor((double)(shortestEdge * width) / height));
    }

    /// <summary>Runs every enabled step on images [B, 3, H, W] in [0, 1]; differentiable.</summary>
    /// <exception cref="ArgumentException">The images are not [B, 3, H, W] floating-point.</exception>
    public Tensor Preprocess(Tensor images)
    {
        ImageBatchGuard.ValidateShapeAndType(images, nameof(images));
        using var scope = NewDisposeScope();
        var x = images;
        if (DoResize) x = Resize(x);
        if (DoCenterCrop) x = CenterCrop(x);
        if (DoNormalize) x = Normalize(x);
        return (ReferenceEquals(x, images) ? x.alias() : x).MoveToOuterDisposeScope();
    }

    /// <summary>Step 1: bicubic shortest-edge resize (no-op when the size already matches).</summary>
    public Tensor Resize(Tensor images)
    {
        var (height, width) = ResizedSize(images.shape[2], images.shape[3], ShortestEdge);
        if (height == images.shape[2] && width == images.shape[3])
            return images.alias();
        return nn.functional.interpolate(images, size: [height, width], mode: InterpolationMode.Bicubic, align_corners: false, antialias: false);
    }

    /// <summary>Step 2: centre crop to <see cref="CropHeight"/> x <see cref="CropWidth"/>.</summary>
    /// <exception cref="ArgumentException">The image is smaller than the crop.</exception>
    public Tensor CenterCrop(Tensor images)
    {
        long height = images.shape[2], width = images.shape[3];
        if (height < CropHeight || width < CropWidth)
            throw new ArgumentException(
                $"images are {height}x{width}, smaller than the {CropHeight}x{CropWidth} crop; resize first.", nameof(images));
        var top = (height - CropHeight) / 2;
        var left = (width - CropWidth) / 2;
        return images[.., .., TensorIndex.Slice(top, top + CropHeight), TensorIndex.Slice(left, left + CropWidth)];
    }

    /// <summary>Step 3: per-channel <c>(x - mean) / std</c>.</summary>
    public Tensor Normalize(Tensor images)
    {
        using var scope = NewDisposeScope();
        var mean = tensor(Mean.ToArray(), dtype: images.dtype, device: images.device).reshape(1, 3, 1, 1);
        var std = tensor(Std.ToArray(), dtype: images.dtype, device: images.device).reshape(1, 3, 1, 1);
        return ((images - mean) / std).MoveToOuterDisposeScope();
    }

    private static int ReadShortestEdge(JsonElement root, string path)
    {
        if (!root.TryGetProperty("size", out var size))
            return 224;
        if (size.ValueKind == JsonValueKind.Number)
            return size.GetInt32();
        if (size.ValueKind == JsonValueKind.Object && size.TryGetProperty("shortest_edge", out var edge))
            return edge.GetInt32();
        throw new InvalidOperationException(
            string.Create(CultureInfo.InvariantCulture, $"'size' must be a number or {{\"shortest_edge\": n}} in '{path}' (fixed height/width resizes are not CLIP's rule)."));
    }

    private static (int Height, int Width) ReadCrop(JsonElement root, int shortest)
    {
        if (!root.TryGetProperty("crop_size", out var crop))
            return (shortest, shortest);
        if (crop.ValueKind == JsonValueKind.Number)
            return (crop.GetInt32(), crop.GetInt32());
        return (crop.GetProperty("height").GetInt32(), crop.GetProperty("width").GetInt32());
    }

    private static double[]? ReadTriple(JsonElement root, string name) =>
        root.TryGetProperty(name, out var values) ? values.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;

    private static bool ReadBool(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.GetBoolean();
}
