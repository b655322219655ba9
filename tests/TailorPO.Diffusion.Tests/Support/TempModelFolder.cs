using System.Text.Json.Nodes;
using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Support;

/// <summary>A scratch model folder deleted on dispose; <see cref="CopyOf"/> fills it from a fixture folder.</summary>
internal sealed class TempModelFolder : IDisposable
{
    public TempModelFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tailorpo-model-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>
    /// Copies a fixture model folder (its config.json and one weights file), letting the caller edit the
    /// config JSON and the weights (e.g. add a buffer or rename keys) on the way.
    /// </summary>
    /// <param name="fixtureFolder">The fixture folder, e.g. "clip_text".</param>
    /// <param name="weightsName">The fixture's weights file.</param>
    /// <param name="editConfig">Edits config.json.</param>
    /// <param name="editWeights">Edits the weights before they are written.</param>
    /// <param name="savedWeightsName">The copy's weights file name (e.g. a variant); default <paramref name="weightsName"/>.</param>
    public static TempModelFolder CopyOf(string fixtureFolder, string weightsName, Action<JsonObject>? editConfig = null,
        Action<Dictionary<string, Tensor>>? editWeights = null, string? savedWeightsName = null)
    {
        var folder = new TempModelFolder();
        try
        {
            var config = JsonNode.Parse(System.IO.File.ReadAllText(FixtureRoot.Combine(fixtureFolder, "config.json")))!.AsObject();
            editConfig?.Invoke(config);
            System.IO.File.WriteAllText(folder.File("config.json"), config.ToJsonString());
            var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine(fixtureFolder, weightsName));
            try
            {
                editWeights?.Invoke(weights);
                SafetensorsWriter.Save(folder.File(savedWeightsName ?? weightsName), weights, new Dictionary<string, string> { ["format"] = "pt" });
            }
            finally
            {
                foreach (var t in weights.Values) t.Dispose();
            }
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
