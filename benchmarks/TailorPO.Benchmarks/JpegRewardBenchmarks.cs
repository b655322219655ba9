using BenchmarkDotNet.Attributes;
using TailorPO.Rewards.Jpeg;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// The JPEG compressibility reward on one square image: the managed encoder alone (uint8 in,
/// byte count out) and the whole reward (float tensor validation, DDPO rounding, encoding).
/// The image mixes smooth structure with mild noise, like a generated photo.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class JpegRewardBenchmarks
{
    private readonly BaselineJpegEncoder _encoder = new();
    private readonly JpegCompressibilityReward _reward = new();
    private readonly string[] _prompts = ["a photo of a cat"];
    private byte[] _rgb = [];
    private Tensor? _images;

    /// <summary>Side length of the square image.</summary>
    [Params(64, 512)]
    public int Size { get; set; }

    /// <summary>Builds the test image.</summary>
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
        _images = tensor(_rgb, [1, 3, Size, Size]).to(ScalarType.Float32).div(255f);
    }

    /// <summary>Releases the image tensor.</summary>
    [GlobalCleanup]
    public void Cleanup() => _images?.Dispose();

    /// <summary>Encodes the uint8 image and returns its length.</summary>
    [Benchmark(Baseline = true)]
    public int EncoderOnly() => _encoder.GetEncodedLength(_rgb, Size, Size);

    /// <summary>Scores the float image with the reward.</summary>
    [Benchmark]
    public float RewardScore()
    {
        using var score = _reward.Score(_images!, _prompts);
        return score.item<float>();
    }
}
