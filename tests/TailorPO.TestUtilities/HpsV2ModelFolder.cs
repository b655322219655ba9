namespace TailorPO.TestUtilities;

/// <summary>
/// A temporary HPSv2 model folder as a user lays it out (docs/rewards.md): the fixture's open_clip config, weights
/// and preprocessing from <c>hpsv2/</c>, and the CLIP tokenizer its README says HPSv2's vocabulary equals
/// (<c>tokenizer/</c>). Deleted on dispose.
/// </summary>
public sealed class HpsV2ModelFolder : IDisposable
{
    /// <summary>Assembles the folder.</summary>
    public HpsV2ModelFolder()
    {
        Path = Directory.CreateTempSubdirectory("tailorpo-hpsv2-").FullName;
        foreach (var file in new[] { "open_clip_config.json", "model.safetensors", "preprocess_config.json" })
            File.Copy(FixtureRoot.Combine("hpsv2", file), System.IO.Path.Combine(Path, file));
        var tokenizer = Directory.CreateDirectory(System.IO.Path.Combine(Path, "tokenizer")).FullName;
        foreach (var file in Directory.GetFiles(FixtureRoot.Combine("tokenizer")).Where(f => !f.EndsWith("cases.json", StringComparison.Ordinal)))
            File.Copy(file, System.IO.Path.Combine(tokenizer, System.IO.Path.GetFileName(file)));
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still mapped on some platforms; the temp folder is left for the OS to clean.
        }
    }
}
