namespace TailorPO.Shapes;

/// <summary>The tiny pixel-space model committed under samples/TailorPO.Shapes/EmbeddedModel and copied next to the program.</summary>
public static class EmbeddedModel
{
    /// <summary>The folder name next to the program.</summary>
    public const string FolderName = "EmbeddedModel";

    /// <summary>The seed the committed weights were trained with (<c>pretrain</c>'s default).</summary>
    public const long PretrainSeed = 1234;

    /// <summary>The embedded model's folder in the output directory.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, FolderName);

    /// <summary>Its tokenizer folder (the openai CLIP BPE vocabulary), which <c>pretrain</c> copies into new models.</summary>
    public static string TokenizerFolder => Path.Combine(Folder, "tokenizer");
}
