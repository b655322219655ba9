using TailorPO.Diffusion.Imaging;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

public class ImageTensorsTests
{
    [Fact]
    public void Png_round_trip_returns_the_quantised_pixels()
    {
        using var scope = NewDisposeScope();
        var image = rand(new long[] { 3, 9, 13 }, generator: new Generator(3));
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-{Guid.NewGuid():N}.png");
        try
        {
            ImageTensors.SavePng(image, path);
            var loaded = ImageTensors.Load(path);
            var expected = (image * 255).round() / 255;
            Assert.Equal(image.shape, loaded.shape);
            Assert.True((loaded - expected).abs().max().item<float>() < 1e-6f);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Grid_places_each_image_in_its_cell()
    {
        using var scope = NewDisposeScope();
        var images = stack(new[] { zeros(3, 4, 5), ones(3, 4, 5), full(new long[] { 3, 4, 5 }, 0.25f) });
        var grid = ImageTensors.Grid(images, columns: 2, padding: 1);
        Assert.Equal(new long[] { 3, 1 + 2 * 5, 1 + 2 * 6 }, grid.shape);
        Assert.Equal(0f, grid[0, 1, 1].item<float>());       // first image, top-left pixel
        Assert.Equal(1f, grid[0, 1, 1 + 6].item<float>());   // second image
        Assert.Equal(0.25f, grid[0, 1 + 5, 1].item<float>()); // third image, second row
        Assert.Equal(0.5f, grid[0, 0, 0].item<float>());     // padding
    }

    [Fact]
    public void Wrong_shapes_are_rejected_with_the_shape_in_the_message()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => ImageTensors.ToBytes(zeros(2, 4, 8, 8)));
        Assert.Contains("[2, 4, 8, 8]", ex.Message);
        Assert.Throws<ArgumentException>(() => ImageTensors.EncodePng(zeros(1, 8, 8)));
        Assert.Throws<ArgumentException>(() => ImageTensors.ToBytes(zeros(new long[] { 1, 3, 4, 4 }, ScalarType.Int64)));
    }

    [Fact]
    public void With_SkiaSharps_natives_installed_the_codec_check_passes()
    {
        ImageTensors.EnsureCodecAvailable();
    }

    [Fact]
    public void A_missing_libSkiaSharp_is_reported_with_the_package_and_the_SkiaSharp_version_in_use()
    {
        var cause = new DllNotFoundException("Unable to load shared library 'libSkiaSharp'");
        var error = new ImageCodecUnavailableException(cause);

        Assert.Same(cause, error.InnerException);
        Assert.Contains("dotnet add package SkiaSharp.NativeAssets.Linux.NoDependencies --version", error.Message);
        // The natives must match the managed SkiaSharp this library was built with: read its version from the assembly.
        var managed = typeof(SkiaSharp.SKBitmap).Assembly.GetName().Version!;
        Assert.Equal(ImageCodecUnavailableException.SkiaSharpVersion, $"{managed.Major}.{managed.Minor}.{managed.Build}");
        Assert.Contains(ImageCodecUnavailableException.SkiaSharpVersion, error.Message);
    }

    [Fact]
    public void Native_load_failures_are_recognised_directly_and_inside_a_type_initializer_and_nothing_else_is()
    {
        Assert.True(ImageTensors.IsNativeLoadFailure(new DllNotFoundException()));
        Assert.True(ImageTensors.IsNativeLoadFailure(new TypeInitializationException("SkiaSharp.SKImageInfo", new DllNotFoundException())));
        Assert.False(ImageTensors.IsNativeLoadFailure(new InvalidOperationException()));
        Assert.False(ImageTensors.IsNativeLoadFailure(new TypeInitializationException("X", new InvalidOperationException())));
    }
}
