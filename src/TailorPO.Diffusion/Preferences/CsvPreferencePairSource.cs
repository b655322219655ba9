using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Imaging;
using TailorPO.Diffusion.Pipelines;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Preferences;

/// <summary>
/// Diffusion-DPO's offline pairs from image files listed in a CSV (see <see cref="PreferencePairCsv"/>): each image is
/// centre-cropped, resized to the model's resolution and encoded with <see cref="StableDiffusionPipeline.EncodeImages"/>
/// (the VAE posterior mean, or [-1, 1] pixels for a pixel-space model). Images are decoded when first asked for and their
/// latents kept on the CPU, so an epoch over the set encodes each image once.
/// </summary>
/// <example>
/// <code>
/// services.AddSingleton&lt;IPreferencePairSource&gt;(sp =&gt;
///     CsvPreferencePairSource.FromCsv("pairs/pairs.csv", sp.GetRequiredService&lt;StableDiffusionPipeline&gt;()));
/// </code>
/// </example>
public sealed class CsvPreferencePairSource : IPreferencePairSource, IDisposable
{
    private readonly IReadOnlyList<PreferencePairRow> _rows;
    private readonly StableDiffusionPipeline _pipeline;
    private readonly Dictionary<string, Tensor> _latents = new(StringComparer.Ordinal);

    /// <summary>Creates the source over checked rows.</summary>
    /// <param name="rows">The pairs (e.g. from <see cref="PreferencePairCsv.Read"/>).</param>
    /// <param name="pipeline">The model whose latent space the pairs are encoded into (not owned).</param>
    /// <param name="imageSize">Image side in pixels; default the pipeline's <see cref="StableDiffusionPipeline.DefaultImageSize"/>.</param>
    /// <exception cref="ArgumentException">No rows, or an image size the model cannot take.</exception>
    public CsvPreferencePairSource(IReadOnlyList<PreferencePairRow> rows, StableDiffusionPipeline pipeline, int? imageSize = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(pipeline);
        if (rows.Count == 0) throw new ArgumentException("Expected at least one preference pair; got none.", nameof(rows));
        var size = imageSize ?? pipeline.DefaultImageSize;
        if (size < pipeline.VaeScaleFactor || size % pipeline.VaeScaleFactor != 0)
            throw new ArgumentOutOfRangeException(nameof(imageSize), size, $"The image size must be a positive multiple of {pipeline.VaeScaleFactor}.");
        (_rows, _pipeline, ImageSize) = (rows.ToArray(), pipeline, size);
    }

    /// <summary>Reads the CSV (or a folder's <c>pairs.csv</c>) and creates the source; see <see cref="PreferencePairCsv.Read"/> for the errors.</summary>
    public static CsvPreferencePairSource FromCsv(string path, StableDiffusionPipeline pipeline, int? imageSize = null) =>
        new(PreferencePairCsv.Read(path), pipeline, imageSize);

    /// <summary>The side, in pixels, every image is resized to.</summary>
    public int ImageSize { get; }

    /// <inheritdoc />
    public int Count => _rows.Count;

    /// <summary>The pairs as read.</summary>
    public IReadOnlyList<PreferencePairRow> Rows => _rows;

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">An index outside [0, <see cref="Count"/>).</exception>
    /// <exception cref="InvalidDataException">An image cannot be decoded (the message names the CSV line).</exception>
    public (IReadOnlyList<string> Prompts, Tensor Preferred, Tensor Dispreferred) Get(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) throw new ArgumentException("Expected at least one index.", nameof(indices));
        foreach (var i in indices)
            if (i < 0 || i >= _rows.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Pair indices must lie in [0, {_rows.Count}).");
        var rows = indices.Select(i => _rows[i]).ToArray();
        using var scope = NewDisposeScope();
        var preferred = stack(rows.Select(r => Latent(r, r.Preferred)).ToArray()).to(_pipeline.Unet.Device);
        var dispreferred = stack(rows.Select(r => Latent(r, r.Dispreferred)).ToArray()).to(_pipeline.Unet.Device);
        return (rows.Select(r => r.Prompt).ToArray(), preferred.MoveToOuterDisposeScope(), dispreferred.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var latent in _latents.Values) latent.Dispose();
        _latents.Clear();
    }

    private Tensor Latent(PreferencePairRow row, string image)
    {
        if (_latents.TryGetValue(image, out var cached)) return cached;
        using var scope = NewDisposeScope();
        Tensor pixels;
        try
        {
            pixels = ImageTensors.LoadSquare(image, ImageSize);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Preference pair at CSV line {row.Line}: {e.Message}", e);
        }
        var latent = _pipeline.EncodeImages(pixels.unsqueeze(0))[0].cpu().DetachFromDisposeScope();
        _latents[image] = latent;
        return latent;
    }
}
