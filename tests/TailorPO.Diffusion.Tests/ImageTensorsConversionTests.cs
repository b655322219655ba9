using System.Runtime.InteropServices;
using TailorPO.Diffusion.Imaging;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>
/// ImageTensors' managed (TensorPrimitives) byte conversions against libtorch computing the same expressions: DDPO's
/// round(255 x) with clamping, and x / 255 for every byte value.
/// </summary>
public class ImageTensorsConversionTests
{
    [Fact]
    public void ToBytes_equals_libtorchs_round_clamp_cast_on_ties_and_out_of_range_values()
    {
        var values = new List<float> { 0f, -0f, 1f, -2f, 3f, -1e-7f, 1.0000001f, float.Epsilon };
        for (var k = 0; k < 255; k++)
        {
            var tie = (k + 0.5f) / 255f;
            values.AddRange([tie, MathF.BitDecrement(tie), MathF.BitIncrement(tie), k / 255f]);
        }
        var random = new Random(13);
        while (values.Count % (3 * 8 * 8) != 0) values.Add((float)random.NextDouble() * 1.4f - 0.2f);

        using var scope = NewDisposeScope();
        var images = tensor(values.ToArray(), [values.Count / (3 * 64), 3, 8, 8]);
        var expected = (images * 255f).round().clamp(0, 255).to(ScalarType.Byte);
        var ours = ImageTensors.ToBytes(images);
        Assert.Equal(ScalarType.Byte, ours.dtype);
        Assert.Equal(images.shape, ours.shape);
        Assert.Equal(expected.data<byte>().ToArray(), ours.data<byte>().ToArray());
    }

    [Fact]
    public void ToBytes_reads_non_contiguous_and_double_batches()
    {
        using var scope = NewDisposeScope();
        var images = rand(new long[] { 2, 8, 5, 3 }, dtype: ScalarType.Float64, generator: new Generator(4)).permute(0, 3, 2, 1);
        var expected = (images.to(ScalarType.Float32) * 255f).round().clamp(0, 255).to(ScalarType.Byte);
        Assert.Equal(expected.data<byte>().ToArray(), ImageTensors.ToBytes(images).data<byte>().ToArray());
    }

    [Fact]
    public void FromRgba_equals_libtorchs_division_for_every_byte_and_keeps_the_channels_apart()
    {
        // 256 pixels: red runs through every byte value, green and blue run the other way and from the middle.
        const int height = 16, width = 16;
        var rgba = new byte[4 * height * width];
        for (var i = 0; i < height * width; i++)
        {
            rgba[4 * i] = (byte)i;
            rgba[4 * i + 1] = (byte)(255 - i);
            rgba[4 * i + 2] = (byte)(i + 128);
            rgba[4 * i + 3] = 7; // alpha is ignored
        }
        using var scope = NewDisposeScope();
        var hwc = tensor(rgba, new long[] { height, width, 4 }, ScalarType.Byte);
        var expected = hwc[TensorIndex.Ellipsis, TensorIndex.Slice(0, 3)].permute(2, 0, 1).to(ScalarType.Float32) / 255f;
        var ours = ImageTensors.FromRgba(rgba, height, width);
        Assert.Equal(new long[] { 3, height, width }, ours.shape);
        // Bit for bit, not within a tolerance.
        var expectedBits = MemoryMarshal.Cast<float, int>(expected.contiguous().data<float>().ToArray()).ToArray();
        var ourBits = MemoryMarshal.Cast<float, int>(ours.data<float>().ToArray()).ToArray();
        Assert.Equal(expectedBits, ourBits);
    }

    [Fact]
    public void FromRgba_rejects_a_length_that_does_not_match_the_size()
    {
        var error = Assert.Throws<ArgumentException>(() => ImageTensors.FromRgba(new byte[4 * 6 - 1], 2, 3));
        Assert.Contains("2 x 3 x 4", error.Message);
    }
}
