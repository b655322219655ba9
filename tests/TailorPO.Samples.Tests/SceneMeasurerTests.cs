using TailorPO.Shapes.Dataset;
using TailorPO.Shapes.Evaluation;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary>The caption-fidelity measure on drawn images, whose attributes are known exactly.</summary>
public class SceneMeasurerTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(DatasetSplit.Training)]
    [InlineData(DatasetSplit.HeldOut)]
    public void On_drawn_images_the_measure_recovers_the_caption(DatasetSplit split)
    {
        const int count = 400;
        var dataset = new ShapeDataset(2024, split);
        int color = 0, shape = 0, background = 0, texture = 0;
        var misses = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var scene = dataset.Scene(i);
            var measured = Measure(scene);
            if (measured.ShapeColor == scene.Color.Name) color++; else misses.Add($"colour: {scene.Caption} -> {measured}");
            if (measured.Shape == scene.Shape) shape++; else misses.Add($"shape: {scene.Caption} (size {scene.Size}) -> {measured}");
            if (measured.BackgroundColor == scene.Background.Name) background++; else misses.Add($"background: {scene.Caption} -> {measured}");
            if (measured.Texture == scene.Texture) texture++; else misses.Add($"texture: {scene.Caption} -> {measured}");
        }
        output.WriteLine($"{split}: colour {color}/{count}, shape {shape}/{count}, background {background}/{count}, texture {texture}/{count}");
        foreach (var miss in misses.Take(20)) output.WriteLine(miss);

        // Colours and backgrounds are drawn exactly, so they must be read exactly; shapes lose a little
        // to anti-aliasing and pixelation of the smallest sizes.
        Assert.Equal(count, color);
        Assert.Equal(count, background);
        Assert.Equal(count, texture);
        Assert.True(shape >= 0.95 * count, $"shape agreement {shape}/{count}");
    }

    [Fact]
    public void An_image_without_an_object_reports_none_and_a_plain_background()
    {
        var blue = ShapeVocabulary.FindColor("blue")!;
        var rgb = Enumerable.Range(0, 32 * 32).SelectMany(_ => new[] { blue.R / 255f, blue.G / 255f, blue.B / 255f }).ToArray();
        var measured = SceneMeasurer.Measure(rgb, 32, 32);
        Assert.Null(measured.ShapeColor);
        Assert.Null(measured.Shape);
        Assert.Equal("blue", measured.BackgroundColor);
        Assert.Equal(BackgroundTexture.Plain, measured.Texture);
    }

    [Fact]
    public void The_tensor_overload_reads_an_image_in_zero_one()
    {
        using var scope = NewDisposeScope();
        var scene = new ShapeDataset(1).Scene(0);
        var image = (ShapeDataset.Render([scene], 32)[0] + 1) / 2;
        Assert.Equal(Measure(scene), SceneMeasurer.Measure(image));
        Assert.Throws<ArgumentException>(() => SceneMeasurer.Measure(zeros(4, 32, 32)));
    }

    private static SceneMeasurement Measure(ShapeScene scene)
    {
        var rgb = ShapeRenderer.RenderRgb(scene, 32);
        return SceneMeasurer.Measure(rgb.Select(b => b / 255f).ToArray(), 32, 32);
    }
}
