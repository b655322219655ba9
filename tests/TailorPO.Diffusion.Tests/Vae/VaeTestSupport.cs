using TailorPO.Diffusion.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Vae;

/// <summary>Fixture access, the parity tolerance and temporary model folders for the VAE tests.</summary>
internal static class VaeTestSupport
{
    public const string Folder = "vae";
    public const string WeightsName = "diffusion_pytorch_model.safetensors";

    public static double ParityAtol(Tensor expected)
    {
        using var scope = NewDisposeScope();
        return 1e-4 * Math.Max(1.0, expected.detach().abs().max().to(ScalarType.Float64).item<double>());
    }

    /// <summary>Case names that have the given field (decode cases have 'latents', encode cases 'image').</summary>
    public static IEnumerable<object[]> CasesWith(string field)
    {
        using var cases = FixtureCases.Load(Folder, "cases.safetensors");
        return cases.CaseNames().Where(n => cases.Has($"{n}.{field}")).Select(n => new object[] { n }).ToList();
    }

    /// <summary>A copy of the fixture VAE folder with edited weights, deleted on dispose.</summary>
    public sealed class ModelCopy : IDisposable
    {
        public ModelCopy(Action<Dictionary<string, Tensor>>? editWeights = null, string weightsName = WeightsName)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tailorpo-vae-{Guid.NewGuid():N}");
            Directory.CreateDirectory(Path);
            File.Copy(FixtureRoot.Combine(Folder, "config.json"), System.IO.Path.Combine(Path, "config.json"));
            var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine(Folder, WeightsName));
            try
            {
                editWeights?.Invoke(weights);
                SafetensorsWriter.Save(System.IO.Path.Combine(Path, weightsName), weights, new Dictionary<string, string> { ["format"] = "pt" });
            }
            finally
            {
                foreach (var t in weights.Values) t.Dispose();
            }
        }

        public string Path { get; }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Moves every key matching <paramref name="from"/> to the same key with <paramref name="to"/> in its place.</summary>
    public static void RenameAll(Dictionary<string, Tensor> weights, string from, string to)
    {
        foreach (var key in weights.Keys.Where(k => k.Contains(from, StringComparison.Ordinal)).ToList())
        {
            weights.Remove(key, out var value);
            weights[key.Replace(from, to, StringComparison.Ordinal)] = value!;
        }
    }
}
