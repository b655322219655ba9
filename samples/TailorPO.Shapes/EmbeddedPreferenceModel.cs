namespace TailorPO.Shapes;

/// <summary>
/// The tiny CLIP of the shapes world committed under samples/TailorPO.Shapes/EmbeddedPreferenceModel and
/// copied next to the program: a transformers <c>CLIPModel</c> folder (config.json, model.safetensors in
/// float16, preprocessor_config.json, the CLIP tokenizer files) that <c>ClipScoreReward.FromPretrained</c>
/// loads as it would load PickScore. <c>tailorpo pretrain-reward</c> with its defaults writes it.
/// </summary>
public static class EmbeddedPreferenceModel
{
    /// <summary>The folder name next to the program.</summary>
    public const string FolderName = "EmbeddedPreferenceModel";

    /// <summary>The seed the committed weights were trained with (<c>pretrain-reward</c>'s default).</summary>
    public const long PretrainSeed = 1234;

    /// <summary>The embedded preference model's folder in the output directory.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, FolderName);

    /// <summary>Its tokenizer files (vocab.json, merges.txt) live in the model folder itself, as in a transformers CLIPModel folder.</summary>
    public static string TokenizerFolder => Folder;
}
