using TailorPO.Diffusion.Tests.Support;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Vae;

/// <summary>Fixture access and temporary model folders for the VAE tests.</summary>
internal static class VaeTestSupport
{
    public const string Folder = "vae";
    public const string WeightsName = "diffusion_pytorch_model.safetensors";

    /// <summary>Case names that have the given field (decode cases have 'latents', encode cases 'image').</summary>
    public static IEnumerable<object[]> CasesWith(string field)
    {
        using var cases = FixtureCases.Load(Folder, "cases.safetensors");
        return cases.CaseNames().Where(n => cases.Has($"{n}.{field}")).Select(n => new object[] { n }).ToList();
    }

    /// <summary>A copy of the fixture VAE folder with edited weights, deleted on dispose.</summary>
    public static TempModelFolder CopyModel(Action<Dictionary<string, Tensor>>? editWeights = null, string weightsName = WeightsName) =>
        TempModelFolder.CopyOf(Folder, WeightsName, editWeights: editWeights, savedWeightsName: weightsName);

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
