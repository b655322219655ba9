using SkiaSharp;

namespace TailorPO.Shapes.Dataset;

/// <summary>Draws <see cref="ShapeScene"/>s with SkiaSharp into RGB bytes.</summary>
public static class ShapeRenderer
{
    /// <summary>Period of the background patterns, pixels.</summary>
    public const int PatternPeriod = 6;

    /// <summary>Draws a scene as an RGB image, <c>[H, W, 3]</c> bytes in row-major order.</summary>
    /// <param name="scene">The scene.</param>
    /// <param name="side">Image width and height in pixels.</param>
    public static byte[] RenderRgb(ShapeScene scene, int side)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 8);
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            DrawBackground(canvas, scene, side);
            DrawShape(canvas, scene);
        }

        var rgba = bitmap.Bytes;
        var rgb = new byte[side * side * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return rgb;
    }

    private static SKColor ToSk(PaletteColor color) => new(color.R, color.G, color.B);

    private static void DrawBackground(SKCanvas canvas, ShapeScene scene, int side)
    {
        canvas.Clear(ToSk(scene.Background));
        if (scene.Texture == BackgroundTexture.Plain) return;
        using var paint = new SKPaint { Color = ToSk(scene.Background.Tint()), IsAntialias = false, Style = SKPaintStyle.Fill };
        var offset = scene.PatternOffset;
        switch (scene.Texture)
        {
            case BackgroundTexture.Striped:
                // Two tinted rows in every six.
                for (var y = -PatternPeriod + offset; y < side; y += PatternPeriod)
                    canvas.DrawRect(new SKRect(0, y, side, y + 2), paint);
                break;
            case BackgroundTexture.Dotted:
                // A 2x2 dot every six pixels in both directions.
                for (var y = -PatternPeriod + offset; y < side; y += PatternPeriod)
                    for (var x = -PatternPeriod + offset; x < side; x += PatternPeriod)
                        canvas.DrawRect(new SKRect(x, y, x + 2, y + 2), paint);
                break;
            case BackgroundTexture.Checkered:
                // Three-pixel squares, alternating.
                const int cell = PatternPeriod / 2;
                for (var y = -PatternPeriod + offset; y < side; y += cell)
                    for (var x = -PatternPeriod + offset; x < side; x += cell)
                        if (((x - offset) / cell + (y - offset) / cell) % 2 == 0)
                            canvas.DrawRect(new SKRect(x, y, x + cell, y + cell), paint);
                break;
        }
    }

    private static void DrawShape(SKCanvas canvas, ShapeScene scene)
    {
        using var paint = new SKPaint { Color = ToSk(scene.Color), IsAntialias = true, Style = SKPaintStyle.Fill };
        float s = scene.Size, h = s / 2, x = scene.CenterX, y = scene.CenterY;
        switch (scene.Shape)
        {
            case ShapeKind.Circle:
                canvas.DrawCircle(x, y, h, paint);
                break;
            case ShapeKind.Square:
                canvas.DrawRect(new SKRect(x - h, y - h, x + h, y + h), paint);
                break;
            case ShapeKind.Triangle:
                using (var path = new SKPath())
                {
                    path.MoveTo(x, y - h);
                    path.LineTo(x + h, y + h);
                    path.LineTo(x - h, y + h);
                    path.Close();
                    canvas.DrawPath(path, paint);
                }
                break;
            case ShapeKind.Cross:
                var arm = s / 3;
                canvas.DrawRect(new SKRect(x - h, y - arm / 2, x + h, y + arm / 2), paint);
                canvas.DrawRect(new SKRect(x - arm / 2, y - h, x + arm / 2, y + h), paint);
                break;
        }
    }
}
