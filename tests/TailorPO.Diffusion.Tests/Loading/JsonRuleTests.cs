using System.Text;
using System.Text.Json;
using TailorPO.Core.Errors;
using TailorPO.Core.Json;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, item 6: one rule for duplicate JSON keys in every reader - refused, naming the file and
/// the key (the UNet config and LoRA metadata threw ArgumentException without a file; the VAE config
/// and model_index.json kept the last value silently).
/// </summary>
public sealed class JsonRuleTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-json-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The text with its first top-level property written twice (the second copy first), and that key.</summary>
    private static (string Text, string Key) DuplicateFirstKey(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        var first = document.RootElement.EnumerateObject().First(p => !p.Name.StartsWith('_'));
        var brace = json.IndexOf('{');
        var copy = $"{JsonSerializer.Serialize(first.Name)}: {first.Value.GetRawText()},";
        return (json[..(brace + 1)] + copy + json[(brace + 1)..], first.Name);
    }

    private string WriteCopy(string fixtureFolder, string file, Func<string, string> edit, out string key)
    {
        var target = Path.Combine(_folder, fixtureFolder);
        Directory.CreateDirectory(target);
        foreach (var source in Directory.GetFiles(FixtureRoot.Combine(fixtureFolder)))
            File.Copy(source, Path.Combine(target, Path.GetFileName(source)), overwrite: true);
        var (text, duplicated) = DuplicateFirstKey(File.ReadAllText(FixtureRoot.Combine(fixtureFolder, file)));
        key = duplicated;
        var path = Path.Combine(target, file);
        File.WriteAllText(path, edit(text));
        return path;
    }

    private static void NamesFileAndKey(Exception error, string path, string key)
    {
        Assert.Contains(path, error.Message);
        Assert.Contains($"'{key}' appears twice", error.Message);
    }

    [Fact]
    public void Model_configs_refuse_a_duplicated_key_naming_file_and_key()
    {
        var unet = WriteCopy("unet", "config.json", t => t, out var unetKey);
        NamesFileAndKey(Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromFile(unet)), unet, unetKey);
        NamesFileAndKey(Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromJson(File.ReadAllText(unet), unet)), unet, unetKey);

        var vae = WriteCopy("vae", "config.json", t => t, out var vaeKey);
        NamesFileAndKey(Assert.Throws<ModelConfigException>(() => AutoencoderKLConfig.FromFile(vae)), vae, vaeKey);

        var text = WriteCopy("clip_text", "config.json", t => t, out var textKey);
        NamesFileAndKey(Assert.Throws<ModelConfigException>(() => CLIPTextConfig.FromFile(text)), text, textKey);

        var vision = WriteCopy("aesthetic", "config.json", t => t, out var visionKey);
        NamesFileAndKey(Assert.Throws<ModelConfigException>(() => CLIPVisionConfig.FromFile(vision)), vision, visionKey);
    }

    [Fact]
    public void A_duplicate_nested_key_is_named_by_its_path()
    {
        const string json = """{"text_config": {"hidden_size": 32, "hidden_size": 64}}""";
        var error = Assert.Throws<ModelConfigException>(() => CLIPTextConfig.FromJson(json, "nested.json"));
        Assert.Contains("'text_config.hidden_size' appears twice", error.Message);
    }

    [Fact]
    public void The_scheduler_config_refuses_a_duplicated_key_naming_file_and_key()
    {
        var path = WriteCopy("ddim", "scheduler_config.json", t => t, out var key);
        var error = Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.FromFile(path));
        NamesFileAndKey(error, path, key);
        Assert.Equal(key, error.Key);
    }

    [Fact]
    public void Model_index_refuses_a_duplicated_key_naming_file_and_key()
    {
        using var folder = new TinyPipelineFolderForJson();
        var path = Path.Combine(folder.Path, "model_index.json");
        var (text, key) = DuplicateFirstKey(File.ReadAllText(path));
        File.WriteAllText(path, text);
        NamesFileAndKey(Assert.Throws<ModelConfigException>(() => ModelIndex.Load(folder.Path)), path, key);
    }

    [Fact]
    public void Invalid_utf8_and_lone_surrogates_in_config_files_are_refused_naming_the_file()
    {
        var unet = WriteCopy("unet", "config.json", t => t.Replace("\"_class_name\"", "\"_class_name\\udc80\"", StringComparison.Ordinal), out _);
        Assert.Contains("lone UTF-16 surrogate", Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromFile(unet)).Message);

        var vae = WriteCopy("vae", "config.json", t => t, out _);
        var bytes = File.ReadAllBytes(vae);
        var at = Encoding.UTF8.GetString(bytes).IndexOf("AutoencoderKL", StringComparison.Ordinal);
        bytes[at] = 0xFF;
        File.WriteAllBytes(vae, bytes);
        var error = Assert.Throws<ModelConfigException>(() => AutoencoderKLConfig.FromFile(vae));
        Assert.Contains(vae, error.Message);
        Assert.Contains("not valid UTF-8", error.Message);

        Assert.False(StrictJson.TryParse("{\"a\": \"\\ud800\"}", default, out _, out var problem));
        Assert.Contains("'a'", problem);
    }

    /// <summary>Just the model_index.json of the tiny pipeline folder (no weights needed here).</summary>
    private sealed class TinyPipelineFolderForJson : IDisposable
    {
        public TinyPipelineFolderForJson()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tailorpo-index-{Guid.NewGuid():N}");
            Directory.CreateDirectory(Path);
            File.WriteAllText(System.IO.Path.Combine(Path, "model_index.json"), """
                {
                  "_class_name": "StableDiffusionPipeline",
                  "scheduler": ["diffusers", "DDIMScheduler"],
                  "text_encoder": ["transformers", "CLIPTextModel"],
                  "tokenizer": ["transformers", "CLIPTokenizer"],
                  "unet": ["diffusers", "UNet2DConditionModel"],
                  "vae": ["diffusers", "AutoencoderKL"]
                }
                """);
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
