using TailorPO.Shapes.Dataset;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

public class DatasetTests
{
    [Fact]
    public void The_same_seed_draws_the_same_scenes_and_pixels_and_another_seed_does_not()
    {
        using var scope = NewDisposeScope();
        var (a, captionsA, _) = new ShapeDataset(7).Batch(100, 16);
        var (b, captionsB, _) = new ShapeDataset(7).Batch(100, 16);
        var (c, captionsC, _) = new ShapeDataset(8).Batch(100, 16);

        Assert.Equal(captionsA, captionsB);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.NotEqual(captionsA, captionsC);
        Assert.Equal(new long[] { 16, 3, 32, 32 }, a.shape);
        Assert.True(a.min().item<float>() >= -1f && a.max().item<float>() <= 1f);
    }

    [Fact]
    public void A_scene_does_not_depend_on_the_order_in_which_scenes_are_asked_for()
    {
        var dataset = new ShapeDataset(3);
        var late = dataset.Scene(41);
        _ = Enumerable.Range(0, 41).Select(i => dataset.Scene(i)).ToList();
        Assert.Equal(late, dataset.Scene(41));
    }

    [Fact]
    public void The_drawn_colours_are_where_the_caption_says()
    {
        var dataset = new ShapeDataset(11);
        for (var i = 0; i < 200; i++)
        {
            var scene = dataset.Scene(i);
            var rgb = ShapeRenderer.RenderRgb(scene, 32);
            // A point well inside every shape: the centre, or for the triangle (apex up) a sixth of its size below it.
            var x = (int)scene.CenterX;
            var y = (int)(scene.Shape == ShapeKind.Triangle ? scene.CenterY + scene.Size / 6 : scene.CenterY);
            Assert.True(Pixel(rgb, x, y) == (scene.Color.R, scene.Color.G, scene.Color.B),
                $"scene {i} '{scene.Caption}': pixel ({x}, {y}) is {Pixel(rgb, x, y)}, not the shape colour");

            // The border ring is background: its base colour or (textured) its tint, and a plain background is its colour only.
            var tint = scene.Background.Tint();
            var ring = Enumerable.Range(0, 32).SelectMany(k => new[] { Pixel(rgb, k, 0), Pixel(rgb, k, 31), Pixel(rgb, 0, k), Pixel(rgb, 31, k) }).ToList();
            Assert.All(ring, p => Assert.True(p == (scene.Background.R, scene.Background.G, scene.Background.B) || p == (tint.R, tint.G, tint.B),
                $"scene {i} '{scene.Caption}': border pixel {p} is neither background tone"));
            // The pattern's tint appears (somewhere: sparse dots can miss the ring) exactly when the caption names a pattern.
            // (Counted away from the shape, whose anti-aliased rim blends the two colours.)
            var away = Enumerable.Range(0, 32 * 32).Where(k =>
                Math.Abs(k % 32 + 0.5 - scene.CenterX) > scene.Size / 2 + 1 || Math.Abs(k / 32 + 0.5 - scene.CenterY) > scene.Size / 2 + 1);
            var tinted = away.Count(k => Pixel(rgb, k % 32, k / 32) == (tint.R, tint.G, tint.B));
            if (scene.Texture == BackgroundTexture.Plain) Assert.Equal(0, tinted);
            else Assert.True(tinted >= 8, $"scene {i} '{scene.Caption}': only {tinted} tinted pixels");
        }
    }

    [Fact]
    public void Captions_follow_the_template_with_the_right_article()
    {
        var red = ShapeVocabulary.FindColor("red")!;
        var orange = ShapeVocabulary.FindColor("orange")!;
        var blue = ShapeVocabulary.FindColor("blue")!;
        Assert.Equal("a red circle on a striped blue background", ShapeVocabulary.Caption(ShapeKind.Circle, red, BackgroundTexture.Striped, blue));
        Assert.Equal("an orange cross on a plain blue background", ShapeVocabulary.Caption(ShapeKind.Cross, orange, BackgroundTexture.Plain, blue));
    }

    [Fact]
    public void The_held_out_split_shares_no_combination_with_training_but_every_word()
    {
        var training = ShapeVocabulary.Combinations(heldOut: false);
        var heldOut = ShapeVocabulary.Combinations(heldOut: true);
        Assert.Empty(training.Select(Key).Intersect(heldOut.Select(Key)));
        Assert.Equal(ShapeVocabulary.DrawableCombinations().Count, training.Count + heldOut.Count);
        Assert.InRange((double)heldOut.Count / (training.Count + heldOut.Count), 0.1, 0.3);
        Assert.Equal(ShapeVocabulary.Shapes.Count, training.Select(c => c.Shape).Distinct().Count());
        Assert.Equal(ShapeVocabulary.Colors.Count, training.Select(c => c.Color.Name).Distinct().Count());
        Assert.Equal(ShapeVocabulary.Colors.Count, training.Select(c => c.Background.Name).Distinct().Count());

        var heldOutKeys = heldOut.Select(Key).ToHashSet();
        var dataset = new ShapeDataset(5);
        Assert.DoesNotContain(Enumerable.Range(0, 2000).Select(i => dataset.Scene(i)), s => heldOutKeys.Contains((s.Shape, s.Color.Name, s.Background.Name)));
        var evaluation = new ShapeDataset(5, DatasetSplit.HeldOut);
        Assert.All(Enumerable.Range(0, 200).Select(i => evaluation.Scene(i)), s => Assert.Contains((s.Shape, s.Color.Name, s.Background.Name), heldOutKeys));
    }

    [Fact]
    public void Every_drawable_shape_colour_stands_out_from_both_background_tones()
    {
        foreach (var (_, color, background) in ShapeVocabulary.DrawableCombinations())
        {
            Assert.True(color.DistanceTo(background) >= ShapeVocabulary.MinimumContrast, $"{color.Name} on {background.Name}");
            Assert.True(color.DistanceTo(background.Tint()) >= ShapeVocabulary.MinimumContrast, $"{color.Name} on {background.Name}'s tint");
        }
    }

    private static (ShapeKind, string, string) Key((ShapeKind Shape, PaletteColor Color, PaletteColor Background) c) => (c.Shape, c.Color.Name, c.Background.Name);

    private static (byte, byte, byte) Pixel(byte[] rgb, int x, int y) => (rgb[(y * 32 + x) * 3], rgb[(y * 32 + x) * 3 + 1], rgb[(y * 32 + x) * 3 + 2]);
}
