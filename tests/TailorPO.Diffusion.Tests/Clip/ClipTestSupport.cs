using System.Text.Json.Nodes;
using TailorPO.Diffusion.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>Fixture access, the parity tolerance and temporary model folders for the CLIP tests.</summary>
internal static class ClipTestSupport
{
    public const string TextFolder = "clip_text";
    public const string VisionFolder = "aesthetic";

    /// <summary>The agreed parity tolerance: atol 1e-4 scaled by the expected magnitude when it exceeds 1.</summary>
    public static double ParityAtol(Tensor expected)
    {
        using var scope = NewDisposeScope();
        var maxAbs = expected.detach().abs().max().to(ScalarType.Float64).item<double>();
        return 1e-4 * Math.Max(1.0, maxAbs);
    }

    /// <summary>Same shape, same dtype and bit-identical values.</summary>
    public static bool BitEqual(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var scope = NewDisposeScope();
        return a.eq(b).all().item<bool>();
    }

    public static IEnumerable<object[]> CaseNames(string folder)
    {
        using var cases = FixtureCases.Load(folder, "cases.safetensors");
        return cases.CaseNames().Select(n => new object[] { n }).ToList();
    }

    /// <summary>A scratch folder deleted on dispose.</summary>
    public sealed class TempFolder : IDisposable
    {
        public TempFolder()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tailorpo-clip-{Guid.NewGuid():N}");
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Copies a fixture model folder, letting the caller edit the config JSON and the weights
    /// (e.g. add a buffer or rename keys) on the way.
    /// </summary>
    public static TempFolder CopyModel(string fixtureFolder, Action<JsonObject>? editConfig = null,
        Action<Dictionary<string, Tensor>>? editWeights = null, string weightsName = "model.safetensors")
    {
        var folder = new TempFolder();
        var config = JsonNode.Parse(System.IO.File.ReadAllText(FixtureRoot.Combine(fixtureFolder, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        System.IO.File.WriteAllText(folder.File("config.json"), config.ToJsonString());
        var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine(fixtureFolder, weightsName));
        try
        {
            editWeights?.Invoke(weights);
            SafetensorsWriter.Save(folder.File(weightsName), weights, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        return folder;
    }
}
