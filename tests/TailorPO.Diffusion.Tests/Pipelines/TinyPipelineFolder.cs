using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Pipelines;

/// <summary>
/// A diffusers Stable Diffusion folder assembled in a temp directory from the fixture parts:
/// unet/, vae/, tokenizer/, the ddim scheduler config, and clip_text/ as text_encoder/. The fixture
/// text encoder has a reduced vocabulary, so its token embedding is widened to the tokenizer's
/// vocabulary (the fixture rows kept, the new rows seeded random) - nothing else is changed.
/// With <c>pixelSpace</c> the folder has no vae/ and model_index.json names none: the UNet is the fixture
/// config with in/out_channels 3 and seeded random weights (a pixel-space model).
/// </summary>
internal sealed class TinyPipelineFolder : IDisposable
{
    public TinyPipelineFolder(Action<string>? edit = null, bool pixelSpace = false)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tailorpo-sd-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
        if (pixelSpace)
        {
            WritePixelSpaceUNet();
        }
        else
        {
            CopyFolder(FixtureRoot.Combine("unet"), "unet", "config.json", "diffusion_pytorch_model.safetensors");
            CopyFolder(FixtureRoot.Combine("vae"), "vae", "config.json", "diffusion_pytorch_model.safetensors");
        }
        CopyFolder(FixtureRoot.Combine("tokenizer"), "tokenizer", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json");
        CopyFolder(FixtureRoot.Combine("ddim"), "scheduler", "scheduler_config.json");
        WriteTextEncoder();
        File.WriteAllText(System.IO.Path.Combine(Path, "model_index.json"), """
            {
              "_class_name": "StableDiffusionPipeline",
              "_diffusers_version": "0.21.4",
              "feature_extractor": [null, null],
              "safety_checker": [null, null],
              "requires_safety_checker": false,
              "scheduler": ["diffusers", "DDIMScheduler"],
              "text_encoder": ["transformers", "CLIPTextModel"],
              "tokenizer": ["transformers", "CLIPTokenizer"],
              "unet": ["diffusers", "UNet2DConditionModel"],
              "vae": ["diffusers", "AutoencoderKL"]
            }
            """.Replace("\"vae\": [\"diffusers\", \"AutoencoderKL\"]", pixelSpace ? "\"vae\": [null, null]" : "\"vae\": [\"diffusers\", \"AutoencoderKL\"]", StringComparison.Ordinal));
        edit?.Invoke(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    private void CopyFolder(string source, string target, params string[] files)
    {
        var folder = System.IO.Path.Combine(Path, target);
        Directory.CreateDirectory(folder);
        foreach (var file in files)
        {
            var from = System.IO.Path.Combine(source, file);
            if (File.Exists(from)) File.Copy(from, System.IO.Path.Combine(folder, file));
        }
    }

    private void WritePixelSpaceUNet()
    {
        var folder = System.IO.Path.Combine(Path, "unet");
        Directory.CreateDirectory(folder);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("unet", "config.json")))!.AsObject();
        config["in_channels"] = 3;
        config["out_channels"] = 3;
        var json = config.ToJsonString();
        File.WriteAllText(System.IO.Path.Combine(folder, "config.json"), json);

        using var scope = NewDisposeScope();
        using var model = new TailorPO.Diffusion.UNet.UNet2DConditionModel(TailorPO.Diffusion.UNet.UNet2DConditionConfig.FromJson(json));
        var generator = new Generator(4321);
        var weights = model.state_dict().ToDictionary(p => p.Key, p => randn(p.Value.shape, generator: generator) * 0.05);
        SafetensorsWriter.Save(System.IO.Path.Combine(folder, "diffusion_pytorch_model.safetensors"), weights, new Dictionary<string, string> { ["format"] = "pt" });
    }

    private void WriteTextEncoder()
    {
        var folder = System.IO.Path.Combine(Path, "text_encoder");
        Directory.CreateDirectory(folder);
        var vocabularySize = System.Text.Json.JsonDocument.Parse(File.ReadAllText(FixtureRoot.Combine("tokenizer", "vocab.json"))).RootElement.EnumerateObject().Count();

        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("clip_text", "config.json")))!.AsObject();
        config["vocab_size"] = vocabularySize;
        File.WriteAllText(System.IO.Path.Combine(folder, "config.json"), config.ToJsonString());

        using var scope = NewDisposeScope();
        var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine("clip_text", "model.safetensors"));
        const string embeddingKey = "text_model.embeddings.token_embedding.weight";
        var embedding = weights[embeddingKey];
        if (embedding.shape[0] < vocabularySize)
        {
            var extra = randn(new long[] { vocabularySize - embedding.shape[0], embedding.shape[1] }, generator: new Generator(1234)) * 0.02;
            weights[embeddingKey] = cat(new[] { embedding, extra.to(embedding.dtype) }, 0);
        }
        SafetensorsWriter.Save(System.IO.Path.Combine(folder, "model.safetensors"), weights, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
