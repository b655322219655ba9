using System.Text.Json;
using TailorPO.TestUtilities;

namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>One case of rewards/jpeg_cases.safetensors: an image and the size Pillow gave it.</summary>
internal sealed record JpegFixtureCase(string Name, int Height, int Width, byte[] RgbPlanar, double ExpectedKilobytes, int ExpectedBytes);

/// <summary>
/// Reads the JPEG reference cases. Names and shapes come from the file (tensor names and the
/// image tensors' shapes). Exact byte counts come from the <c>cases</c> metadata when present,
/// otherwise from jpeg_kb x 1000 (float32 holds bytes / 1000 exactly enough to recover files under 8 MB).
/// </summary>
internal static class JpegFixture
{
    public static IReadOnlyList<JpegFixtureCase> Load()
    {
        using var file = FixtureCases.Load("rewards", "jpeg_cases.safetensors");
        var bytesByName = ExactByteCounts(file.Metadata);
        var cases = new List<JpegFixtureCase>();
        foreach (var name in file.CaseNames())
        {
            var image = file.Get(name, "image_u8");
            Assert.Equal(3, image.shape.Length);
            Assert.Equal(3L, image.shape[0]);
            var rgb = image.contiguous().bytes.ToArray();
            var kilobytes = file.Get(name, "jpeg_kb").to(TorchSharp.torch.ScalarType.Float64).item<double>();
            var exactBytes = bytesByName.TryGetValue(name, out var b) ? b : (int)Math.Round(kilobytes * 1000);
            cases.Add(new JpegFixtureCase(name, (int)image.shape[1], (int)image.shape[2], rgb, kilobytes, exactBytes));
        }
        Assert.NotEmpty(cases);
        return cases;
    }

    private static Dictionary<string, int> ExactByteCounts(IReadOnlyDictionary<string, string> metadata)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!metadata.TryGetValue("cases", out var json)) return result;
        using var doc = JsonDocument.Parse(json);
        foreach (var entry in doc.RootElement.EnumerateArray())
        {
            if (entry.TryGetProperty("name", out var name) && entry.TryGetProperty("jpeg_bytes", out var bytes))
                result[name.GetString()!] = bytes.GetInt32();
        }
        return result;
    }
}
