using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Analytic;

/// <summary>Seeded test images.</summary>
internal static class TestImages
{
    /// <summary>Uniform values in [low, high], shape [b, 3, h, w].</summary>
    internal static Tensor Random(long seed, int b = 2, int h = 5, int w = 4, double low = 0.05, double high = 0.95, ScalarType dtype = ScalarType.Float64)
    {
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        return (rand([b, 3, h, w], dtype: ScalarType.Float64, generator: generator) * (high - low) + low).to(dtype);
    }

    internal static string[] Prompts(long count) => Enumerable.Range(0, (int)count).Select(i => $"prompt {i}").ToArray();
}
