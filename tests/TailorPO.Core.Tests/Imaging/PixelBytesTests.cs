using TailorPO.Core.Imaging;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Imaging;

/// <summary>
/// The library's one float-to-byte conversion against a scalar reference (MathF.Round half to even on the float32
/// product, then the clamp) and against libtorch running DDPO's expression, over every rounding tie of [0, 1], its float
/// neighbours, values beyond [0, 1] and random values, in a length that leaves a partial chunk and a partial vector.
/// </summary>
public sealed class PixelBytesTests
{
    private static float[] Values()
    {
        var values = new List<float> { 0f, -0f, 1f, -1e-3f, 1.001f, -0.7f, 3.5f, 1f / 255f, 254.5f / 255f, float.Epsilon, -float.Epsilon };
        for (var k = 0; k < 255; k++)
        {
            var tie = (k + 0.5f) / 255f;
            values.AddRange([tie, MathF.BitDecrement(tie), MathF.BitIncrement(tie), k / 255f]);
        }
        var random = new Random(11);
        while (values.Count < 2 * 2048 + 37) values.Add((float)random.NextDouble() * 1.2f - 0.1f);
        return values.ToArray();
    }

    private static byte Scalar(float x) => (byte)Math.Clamp(MathF.Round(x * 255f, MidpointRounding.ToEven), 0f, 255f);

    [Fact]
    public void Every_value_converts_as_the_scalar_round_half_to_even_then_clamp()
    {
        var unit = Values();
        var ours = new byte[unit.Length];

        PixelBytes.FromUnitInterval(unit, ours);

        for (var i = 0; i < unit.Length; i++)
            Assert.True(Scalar(unit[i]) == ours[i], $"value {unit[i]:R} (index {i}): scalar {Scalar(unit[i])}, PixelBytes {ours[i]}");
        // Exact ties of the float32 product were exercised, and some went down (half to even, not half away from zero).
        Assert.Contains(unit, x => x * 255f == MathF.Floor(x * 255f) + 0.5f && Scalar(x) == MathF.Floor(x * 255f));
    }

    [Fact]
    public void Every_value_converts_as_libtorch_runs_DDPOs_expression()
    {
        var unit = Values();
        using var scope = NewDisposeScope();
        var expected = tensor(unit).mul(255f).round().clamp(0, 255).to(ScalarType.Byte).data<byte>().ToArray();
        var ours = new byte[unit.Length];

        PixelBytes.FromUnitInterval(unit, ours);

        Assert.Equal(expected, ours);
    }

    [Fact]
    public void Spans_of_different_lengths_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => PixelBytes.FromUnitInterval(new float[3], new byte[2]));
        Assert.Equal("bytes", error.ParamName);
    }
}
