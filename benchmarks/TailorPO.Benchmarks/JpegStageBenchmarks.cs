using BenchmarkDotNet.Attributes;
using TailorPO.Diffusion.Imaging;
using TailorPO.Rewards.Jpeg;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// The CPU-side stages of the JPEG reward and the image conversions on one square image, each alone, to see where
/// TensorPrimitives serves: float [0, 1] to DDPO's bytes (the reward's managed pass), RGB to padded Y/Cb/Cr planes
/// (colour conversion and 4:2:0 downsampling), the quantisation of every DCT block, and ImageTensors' byte
/// conversions both ways. The image is the same as <see cref="JpegRewardBenchmarks"/>'.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class JpegStageBenchmarks
{
    private readonly JpegQuantizer _quantizer = new(JpegQuantizationTables.Scale(JpegQuantizationTables.AnnexKLuminance, 95));
    private byte[] _rgb = [];
    private float[] _unit = [];
    private byte[] _bytes = [];
    private byte[] _scratch = [];
    private int[] _blocks = [];
    private int[] _zigZag = new int[64];
    private Tensor? _images;
    private byte[] _rgba = [];

    /// <summary>Side length of the square image.</summary>
    [Params(64, 512)]
    public int Size { get; set; }

    /// <summary>Builds the image, its float copy and the DCT blocks of its luma plane.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var n = Size * Size;
        _rgb = new byte[3 * n];
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < Size; y++)
        for (var x = 0; x < Size; x++)
        {
            var smooth = 128 + 80 * Math.Sin(12.0 * x / Size + c) * Math.Cos(9.0 * y / Size - c);
            _rgb[c * n + y * Size + x] = (byte)Math.Clamp(smooth + random.Next(-6, 7), 0, 255);
        }
        _unit = _rgb.Select(b => b / 255f).ToArray();
        _bytes = new byte[_rgb.Length];
        _scratch = new byte[JpegPlanes.ScratchLength(Size, Size)];
        var planes = JpegPlanes.Build(_rgb, Size, Size, _scratch);
        var blocksWide = planes.LumaStride / 8;
        var blockCount = blocksWide * (planes.LumaRows / 8);
        _blocks = new int[64 * blockCount];
        for (var i = 0; i < blockCount; i++)
            JpegForwardDct.Transform(planes.Luma, planes.LumaStride, 8 * (i % blocksWide), 8 * (i / blocksWide), _blocks.AsSpan(64 * i, 64));
        _images = tensor(_unit, [1, 3, Size, Size]);
        _rgba = new byte[4 * n];
        for (var i = 0; i < n; i++)
        {
            _rgba[4 * i] = _rgb[i];
            _rgba[4 * i + 1] = _rgb[n + i];
            _rgba[4 * i + 2] = _rgb[2 * n + i];
            _rgba[4 * i + 3] = 255;
        }
    }

    /// <summary>Releases the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _images?.Dispose();
    }

    /// <summary>The float-to-byte pass the reward and PNG output share (PixelBytes): round(255 x) half to even, clamped.</summary>
    [Benchmark]
    public byte FloatToDdpoBytes()
    {
        TailorPO.Core.Imaging.PixelBytes.FromUnitInterval(_unit, _bytes);
        return _bytes[^1];
    }

    /// <summary>RGB to the padded Y, Cb, Cr planes (libjpeg's fixed-point colour conversion and h2v2 downsampling).</summary>
    [Benchmark]
    public byte ColourPlanes()
    {
        var planes = JpegPlanes.Build(_rgb, Size, Size, _scratch);
        return planes.Cr[^1];
    }

    /// <summary>Quantises every luma DCT block into zig-zag order.</summary>
    [Benchmark]
    public int QuantizeLumaBlocks()
    {
        var sum = 0;
        for (var i = 0; i < _blocks.Length; i += 64)
        {
            _quantizer.Quantize(_blocks.AsSpan(i, 64), _zigZag);
            sum += _zigZag[0];
        }
        return sum;
    }

    /// <summary>ImageTensors.ToBytes: float [0, 1] batch to a uint8 tensor, as DDPO quantises.</summary>
    [Benchmark]
    public long TensorToBytes()
    {
        using var bytes = ImageTensors.ToBytes(_images!);
        return bytes.shape[3];
    }

    /// <summary>What ImageTensors.Load does after decoding: interleaved RGBA bytes to a float [3, H, W] tensor of x / 255.</summary>
    [Benchmark]
    public long RgbaToTensor()
    {
        using var image = ImageTensors.FromRgba(_rgba, Size, Size);
        return image.shape[2];
    }
}
