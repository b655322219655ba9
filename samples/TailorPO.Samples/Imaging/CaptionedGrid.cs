using SkiaSharp;
using TailorPO.Core.IO;
using static TorchSharp.torch;

namespace TailorPO.Samples.Imaging;

/// <summary>
/// Lays images out in a grid, each tile enlarged by an integer factor (nearest neighbour, so pixels stay
/// visible) with its caption under it in the <see cref="PixelFont"/>, and saves it as PNG.
/// </summary>
public static class CaptionedGrid
{
    private const int Gap = 6;
    private static readonly SKColor Paper = new(250, 250, 250);
    private static readonly SKColor Ink = new(30, 30, 30);

    /// <summary>Renders the grid to PNG bytes.</summary>
    /// <param name="images">[B, 3, H, W] in [0, 1].</param>
    /// <param name="captions">One caption per image (null or empty for none).</param>
    /// <param name="columns">Tiles per row.</param>
    /// <param name="scale">Enlargement of each tile (1 keeps the pixels).</param>
    /// <param name="maxCaptionLines">Caption lines kept under each tile.</param>
    public static byte[] EncodePng(Tensor images, IReadOnlyList<string?>? captions, int columns, int scale = 4, int maxCaptionLines = 3)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Expected images [B, 3, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        int count = (int)images.shape[0], height = (int)images.shape[2], width = (int)images.shape[3];
        if (captions is not null && captions.Count != count)
            throw new ArgumentException($"Expected {count} captions (one per image); got {captions.Count}.", nameof(captions));

        int tileWidth = width * scale, tileHeight = height * scale;
        var charsPerLine = Math.Max(1, tileWidth / PixelFont.Advance);
        var wrapped = Enumerable.Range(0, count)
            .Select(i => captions?[i] is { Length: > 0 } c ? PixelFont.Wrap(c, charsPerLine).Take(maxCaptionLines).ToList() : [])
            .ToList();
        var captionHeight = wrapped.Count == 0 ? 0 : wrapped.Max(w => w.Count) * PixelFont.LineHeight;
        var rows = (count + columns - 1) / columns;
        var cellWidth = tileWidth + Gap;
        var cellHeight = tileHeight + captionHeight + Gap;
        var gridColumns = Math.Min(columns, count);

        using var scope = NewDisposeScope();
        var bytes = (images.detach().to(ScalarType.Float32).cpu().clamp(0, 1) * 255).round().to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous();
        var rgb = bytes.data<byte>().ToArray();

        using var bitmap = new SKBitmap(new SKImageInfo(gridColumns * cellWidth + Gap, rows * cellHeight + Gap, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill })
        {
            canvas.Clear(Paper);
            for (var i = 0; i < count; i++)
            {
                int left = Gap + i % columns * cellWidth, top = Gap + i / columns * cellHeight;
                var offset = i * height * width * 3;
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var p = offset + (y * width + x) * 3;
                        paint.Color = new SKColor(rgb[p], rgb[p + 1], rgb[p + 2]);
                        canvas.DrawRect(new SKRect(left + x * scale, top + y * scale, left + (x + 1) * scale, top + (y + 1) * scale), paint);
                    }

                paint.Color = Ink;
                for (var line = 0; line < wrapped[i].Count; line++)
                {
                    var text = wrapped[i][line];
                    var baseY = top + tileHeight + 2 + line * PixelFont.LineHeight;
                    for (var k = 0; k < text.Length; k++)
                        for (var gy = 0; gy < PixelFont.GlyphHeight; gy++)
                            for (var gx = 0; gx < PixelFont.GlyphWidth; gx++)
                                if (PixelFont.IsInk(text[k], gx, gy))
                                    canvas.DrawRect(new SKRect(left + k * PixelFont.Advance + gx, baseY + gy, left + k * PixelFont.Advance + gx + 1, baseY + gy + 1), paint);
                }
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Renders the grid and writes it atomically (temporary file, then rename).</summary>
    public static void Save(string path, Tensor images, IReadOnlyList<string?>? captions, int columns, int scale = 4, int maxCaptionLines = 3)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var png = EncodePng(images, captions, columns, scale, maxCaptionLines);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
