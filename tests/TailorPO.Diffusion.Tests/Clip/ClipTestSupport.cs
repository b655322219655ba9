using System.Text.Json.Nodes;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>Fixture access and temporary model folders for the CLIP tests.</summary>
internal static class ClipTestSupport
{
    public const string TextFolder = "clip_text";
    public const string VisionFolder = "aesthetic";

    public static IEnumerable<object[]> CaseNames(string folder)
    {
        using var cases = FixtureCases.Load(folder, "cases.safetensors");
        return cases.CaseNames().Select(n => new object[] { n }).ToList();
    }

    /// <summary>
    /// Copies a fixture model folder, letting the caller edit the config JSON and the weights
    /// (e.g. add a buffer or rename keys) on the way.
    /// </summary>
    public static TempModelFolder CopyModel(string fixtureFolder, Action<JsonObject>? editConfig = null,
        Action<Dictionary<string, Tensor>>? editWeights = null) =>
        TempModelFolder.CopyOf(fixtureFolder, "model.safetensors", editConfig, editWeights);
}
