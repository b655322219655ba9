using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Pipelines;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, item 12: a single-file checkpoint in the original LDM layout, built here by converting the
/// tiny diffusers fixture (prefix tables written the way diffusers' reverse script does, from the
/// configs), loads back into UNet, VAE and CLIP with every tensor bit-identical.
/// </summary>
public sealed class SingleFileCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-ldm-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // ---- the test's own diffusers -> LDM converter ------------------------------------------------

    /// <summary>(diffusers prefix, LDM prefix) pairs for a UNet, built from its config by walking the LDM block layout.</summary>
    private static List<(string Diffusers, string Ldm)> UNetPrefixes(UNet2DConditionConfig config)
    {
        var table = new List<(string, string)>
        {
            ("time_embedding.linear_1.", "time_embed.0."), ("time_embedding.linear_2.", "time_embed.2."),
            ("conv_in.", "input_blocks.0.0."), ("conv_norm_out.", "out.0."), ("conv_out.", "out.2."),
            ("mid_block.attentions.0.", "middle_block.1."),
        };
        int layers = config.LayersPerBlock[0], blocks = config.BlockOutChannels.Count;
        int input = 1, output = 0;
        for (int b = 0; b < blocks; b++)
        {
            for (int j = 0; j < layers; j++, input++)
            {
                table.Add(($"down_blocks.{b}.resnets.{j}.", $"input_blocks.{input}.0."));
                if (config.DownBlockTypes[b] == "CrossAttnDownBlock2D") table.Add(($"down_blocks.{b}.attentions.{j}.", $"input_blocks.{input}.1."));
            }
            if (b < blocks - 1) table.Add(($"down_blocks.{b}.downsamplers.0.conv.", $"input_blocks.{input++}.0.op."));
        }
        for (int b = 0; b < blocks; b++)
        {
            bool attention = config.UpBlockTypes[b] == "CrossAttnUpBlock2D";
            for (int j = 0; j <= layers; j++, output++)
            {
                table.Add(($"up_blocks.{b}.resnets.{j}.", $"output_blocks.{output}.0."));
                if (attention) table.Add(($"up_blocks.{b}.attentions.{j}.", $"output_blocks.{output}.1."));
                if (j == layers && b < blocks - 1) table.Add(($"up_blocks.{b}.upsamplers.0.conv.", $"output_blocks.{output}.{(attention ? 2 : 1)}.conv."));
            }
        }
        table.Add(("mid_block.resnets.0.", "middle_block.0."));
        table.Add(("mid_block.resnets.1.", "middle_block.2."));
        return table;
    }

    private static readonly (string, string)[] ResnetParts =
        [("norm1.", "in_layers.0."), ("conv1.", "in_layers.2."), ("time_emb_proj.", "emb_layers.1."), ("norm2.", "out_layers.0."), ("conv2.", "out_layers.3."), ("conv_shortcut.", "skip_connection.")];

    private static string ToLdm(string key, List<(string Diffusers, string Ldm)> table, (string, string)[] innerParts)
    {
        var (diffusers, ldm) = table.Where(p => key.StartsWith(p.Diffusers, StringComparison.Ordinal)).MaxBy(p => p.Diffusers.Length);
        Assert.NotNull(diffusers);
        var rest = key[diffusers.Length..];
        if (diffusers.Contains(".resnets.", StringComparison.Ordinal))
            foreach (var (a, b) in innerParts)
                if (rest.StartsWith(a, StringComparison.Ordinal)) { rest = b + rest[a.Length..]; break; }
        return ldm + rest;
    }

    private static List<(string Diffusers, string Ldm)> VaePrefixes(AutoencoderKLConfig config)
    {
        var table = new List<(string, string)>
        {
            ("quant_conv.", "quant_conv."), ("post_quant_conv.", "post_quant_conv."),
        };
        int blocks = config.BlockOutChannels.Count;
        foreach (var part in new[] { "encoder", "decoder" })
        {
            table.Add(($"{part}.conv_in.", $"{part}.conv_in."));
            table.Add(($"{part}.conv_out.", $"{part}.conv_out."));
            table.Add(($"{part}.conv_norm_out.", $"{part}.norm_out."));
            table.Add(($"{part}.mid_block.resnets.0.", $"{part}.mid.block_1."));
            table.Add(($"{part}.mid_block.resnets.1.", $"{part}.mid.block_2."));
            table.Add(($"{part}.mid_block.attentions.0.group_norm.", $"{part}.mid.attn_1.norm."));
            table.Add(($"{part}.mid_block.attentions.0.to_q.", $"{part}.mid.attn_1.q."));
            table.Add(($"{part}.mid_block.attentions.0.to_k.", $"{part}.mid.attn_1.k."));
            table.Add(($"{part}.mid_block.attentions.0.to_v.", $"{part}.mid.attn_1.v."));
            table.Add(($"{part}.mid_block.attentions.0.to_out.0.", $"{part}.mid.attn_1.proj_out."));
        }
        for (int i = 0; i < blocks; i++)
        {
            for (int j = 0; j < config.LayersPerBlock; j++) table.Add(($"encoder.down_blocks.{i}.resnets.{j}.", $"encoder.down.{i}.block.{j}."));
            if (i < blocks - 1) table.Add(($"encoder.down_blocks.{i}.downsamplers.0.", $"encoder.down.{i}.downsample."));
            // The LDM decoder numbers its blocks from the image side.
            for (int j = 0; j <= config.LayersPerBlock; j++) table.Add(($"decoder.up_blocks.{i}.resnets.{j}.", $"decoder.up.{blocks - 1 - i}.block.{j}."));
            if (i < blocks - 1) table.Add(($"decoder.up_blocks.{i}.upsamplers.0.", $"decoder.up.{blocks - 1 - i}.upsample."));
        }
        return table;
    }

    /// <summary>Writes the fixture models as one LDM-layout file (VAE attention weights as 1x1 convolutions); extra keys optional.</summary>
    private string WriteLdmFile(string name, UNet2DConditionModel unet, AutoencoderKL vae, CLIPTextModel text,
        Action<Dictionary<string, Tensor>>? edit = null)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var unetTable = UNetPrefixes(unet.Config);
        foreach (var (key, value) in unet.state_dict()) tensors[SingleFileCheckpoint.UNetPrefix + ToLdm(key, unetTable, ResnetParts)] = value;
        var vaeTable = VaePrefixes(vae.Config);
        foreach (var (key, value) in vae.state_dict())
        {
            var ldm = ToLdm(key, vaeTable, [("conv_shortcut.", "nin_shortcut.")]);
            var isAttentionWeight = ldm.Contains(".attn_1.", StringComparison.Ordinal) && !ldm.Contains(".norm.", StringComparison.Ordinal) && value.dim() == 2;
            tensors[SingleFileCheckpoint.VaePrefix + ldm] = isAttentionWeight ? value.reshape(value.shape[0], value.shape[1], 1, 1) : value;
        }
        foreach (var (key, value) in text.state_dict()) tensors[SingleFileCheckpoint.TextEncoderPrefix + key] = value;
        // What real single files also carry: schedule buffers, EMA copies and the position_ids buffer.
        tensors["alphas_cumprod"] = ones(10);
        tensors["model_ema.decay"] = tensor(0.9999f);
        tensors[SingleFileCheckpoint.TextEncoderPrefix + "text_model.embeddings.position_ids"] = arange(text.Config.MaxPositionEmbeddings).unsqueeze(0);
        edit?.Invoke(tensors);
        var path = Path.Combine(_folder, name);
        SafetensorsWriter.Save(path, tensors);
        return path;
    }

    private static void AssertSameTensors(nn.Module expected, nn.Module actual)
    {
        var want = expected.state_dict();
        var got = actual.state_dict();
        Assert.Equal(want.Keys.Order(StringComparer.Ordinal), got.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in want)
        {
            Assert.Equal(value.shape, got[key].shape);
            Assert.True(value.contiguous().bytes.SequenceEqual(got[key].contiguous().bytes), $"'{key}' differs");
        }
    }

    [Fact]
    public void An_ldm_layout_file_made_from_the_fixture_loads_back_bit_identical()
    {
        using var unet = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));
        using var vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine("vae"));
        using var text = CLIPTextModel.FromPretrained(FixtureRoot.Combine("clip_text"));
        var file = WriteLdmFile("sd.safetensors", unet, vae, text);

        // The converter above and the library agree key by key (one table read two ways).
        var table = UNetPrefixes(unet.Config);
        foreach (var key in unet.state_dict().Keys) Assert.Equal(ToLdm(key, table, ResnetParts), SingleFileCheckpoint.UNetKey(key, unet.Config));

        using (var loaded = SingleFileCheckpoint.LoadUNet(file, unet.Config)) AssertSameTensors(unet, loaded);
        using (var loaded = SingleFileCheckpoint.LoadVae(file, vae.Config)) AssertSameTensors(vae, loaded);
        using (var loaded = SingleFileCheckpoint.LoadTextEncoder(file, text.Config)) AssertSameTensors(text, loaded);
        using (var half = SingleFileCheckpoint.LoadUNet(file, unet.Config, new ModelLoadOptions { DType = ScalarType.Float16 }))
            Assert.Equal(ScalarType.Float16, half.DType);
    }

    [Fact]
    public void A_single_file_pipeline_with_a_config_folder_equals_the_diffusers_folder_pipeline()
    {
        using var folder = new TinyPipelineFolder();
        using var reference = StableDiffusionPipeline.FromPretrained(folder.Path);
        var file = WriteLdmFile("pipeline.safetensors", reference.Unet, reference.Vae!, reference.TextEncoder);
        // The config folder: the same folder with every weight file removed.
        foreach (var weights in Directory.GetFiles(folder.Path, "*.safetensors", SearchOption.AllDirectories)) File.Delete(weights);

        using var pipeline = SingleFileCheckpoint.LoadPipeline(file, folder.Path);
        AssertSameTensors(reference.Unet, pipeline.Unet);
        AssertSameTensors(reference.Vae!, pipeline.Vae!); // the fixture folder is a latent model
        AssertSameTensors(reference.TextEncoder, pipeline.TextEncoder);
        var request = new TextToImageRequest { Prompts = ["a red cube"], Steps = 2, Seed = 3, Eta = 1, Height = 16, Width = 16 };
        using var expected = reference.Generate(request);
        using var actual = pipeline.Generate(request);
        Assert.True(expected.Latents.contiguous().bytes.SequenceEqual(actual.Latents.contiguous().bytes));
    }

    [Fact]
    public void Missing_and_stray_keys_are_listed_under_both_names()
    {
        using var unet = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));
        using var vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine("vae"));
        using var text = CLIPTextModel.FromPretrained(FixtureRoot.Combine("clip_text"));
        string removed = "";
        var file = WriteLdmFile("broken.safetensors", unet, vae, text, tensors =>
        {
            removed = tensors.Keys.Where(k => k.StartsWith(SingleFileCheckpoint.UNetPrefix + "output_blocks.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).First();
            tensors.Remove(removed);
            tensors[SingleFileCheckpoint.UNetPrefix + "label_emb.0.0.weight"] = ones(2);
        });
        var error = Assert.Throws<StateDictMismatchException>(() => SingleFileCheckpoint.LoadUNet(file, unet.Config));
        Assert.Contains(file, error.Message);
        Assert.Single(error.MissingKeys);
        Assert.Contains($"'{removed}'", error.MissingKeys[0]);
        Assert.Equal([SingleFileCheckpoint.UNetPrefix + "label_emb.0.0.weight"], error.UnexpectedKeys);
    }

    [Fact]
    public void Files_that_are_not_sd_v1_ldm_checkpoints_are_refused_with_the_reason()
    {
        var diffusersFile = FixtureRoot.Combine("unet", "diffusion_pytorch_model.safetensors");
        var config = UNet2DConditionConfig.FromFile(FixtureRoot.Combine("unet", "config.json"));
        Assert.Contains("model.diffusion_model.", Assert.Throws<ModelConfigException>(() => SingleFileCheckpoint.LoadUNet(diffusersFile, config)).Message);

        var openClip = Path.Combine(_folder, "sd2.safetensors");
        using (var scope = NewDisposeScope())
            SafetensorsWriter.Save(openClip, new Dictionary<string, Tensor> { [SingleFileCheckpoint.OpenClipPrefix + "positional_embedding"] = ones(2) });
        var textConfig = CLIPTextConfig.FromFile(FixtureRoot.Combine("clip_text", "config.json"));
        Assert.Contains("OpenCLIP", Assert.Throws<ModelConfigException>(() => SingleFileCheckpoint.LoadTextEncoder(openClip, textConfig)).Message);

        var perBlock = config with { LayersPerBlock = [.. Enumerable.Range(0, config.BlockCount).Select(i => 1 + i % 2)] };
        Assert.Contains("layers_per_block", Assert.Throws<ModelConfigException>(() => SingleFileCheckpoint.LoadUNet(diffusersFile, perBlock)).Message);
    }
}
