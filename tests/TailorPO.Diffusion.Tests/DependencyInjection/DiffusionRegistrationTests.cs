using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Options;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Pipelines;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.DependencyInjection;

/// <summary>AddTailorPODiffusion over the tiny diffusers folder: the parts, Core's sampler, LoRA, and start-up validation.</summary>
public class DiffusionRegistrationTests
{
    private static string LoraFixturePath => FixtureRoot.Combine("unet", "lora", "pytorch_lora_weights.safetensors");

    private static ServiceProvider Build(Action<TailorPODiffusionOptions> configure, Action<TailorPOCoreOptions>? core = null, bool withCore = false)
    {
        var services = new ServiceCollection();
        services.AddTailorPODiffusion(configure);
        if (withCore || core is not null) services.AddTailorPOCore(core);
        return services.BuildServiceProvider();
    }

    private static ServiceProvider Started(Action<TailorPODiffusionOptions> configure, Action<TailorPOCoreOptions>? core = null, bool withCore = false)
    {
        var provider = Build(configure, core, withCore);
        provider.GetRequiredService<IStartupValidator>().Validate();
        return provider;
    }

    private static IReadOnlyList<string> StartFailures(Action<TailorPODiffusionOptions> configure)
    {
        using var provider = Build(configure);
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        return error.Failures.ToList();
    }

    private static void AssertUntouchedBase(StableDiffusionPipeline pipeline) =>
        Assert.DoesNotContain(pipeline.Unet.modules(), m => m is LoraLinear { HasAdapter: true });

    [Fact]
    public void Every_part_is_a_singleton_taken_from_one_pipeline_and_without_lora_resolving_an_adapter_names_the_options_to_set()
    {
        using var folder = new TinyPipelineFolder();
        using var provider = Started(o => o.ModelFolder = folder.Path);

        var pipeline = provider.GetRequiredService<StableDiffusionPipeline>();
        Assert.Same(pipeline, provider.GetRequiredService<StableDiffusionPipeline>());
        Assert.Same(pipeline.NoisePredictor, provider.GetRequiredService<INoisePredictor>());
        Assert.Same(pipeline.Decoder, provider.GetRequiredService<ILatentDecoder>());
        Assert.Same(pipeline.Tokenizer, provider.GetRequiredService<ClipTokenizer>());
        foreach (var adapterType in new[] { typeof(IAdapter), typeof(LoraAdapter) })
        {
            var refusal = Assert.Throws<InvalidOperationException>(() => provider.GetService(adapterType));
            Assert.Contains("TailorPODiffusionOptions.Lora", refusal.Message);
            Assert.Contains("LoraAdapterPath", refusal.Message);
        }
        AssertUntouchedBase(pipeline);
        Assert.Equal(ScalarType.Float32, pipeline.Unet.DType);
        Assert.Equal(DeviceType.CPU, pipeline.Unet.Device.type);
    }

    [Fact]
    public void The_prompt_encoder_is_the_pipelines_and_passes_the_callers_guidance_scale()
    {
        using var folder = new TinyPipelineFolder();
        using var provider = Started(o => o.ModelFolder = folder.Path);
        var encoder = provider.GetRequiredService<IPromptEncoder>();
        var pipeline = provider.GetRequiredService<TailorPO.Diffusion.Pipelines.StableDiffusionPipeline>();
        using var scope = TorchSharp.torch.NewDisposeScope();
        var condition = encoder.Encode(["a red circle"], guidanceScale: 3.5);
        var expected = pipeline.EncodePrompts(["a red circle"], guidanceScale: 3.5);
        Assert.Equal(3.5, condition.GuidanceScale);
        Assert.True(condition.PromptEmbeddings.allclose(expected.PromptEmbeddings, 0, 0));
        Assert.NotNull(condition.NegativeEmbeddings);
        Assert.True(condition.NegativeEmbeddings!.allclose(expected.NegativeEmbeddings!, 0, 0));
    }

    [Fact]
    public void The_model_is_loaded_on_first_resolve_not_at_start()
    {
        // Start-up validation reads no weights: a corrupt UNet file passes it and fails when the pipeline is first needed.
        using var folder = new TinyPipelineFolder(path =>
            File.WriteAllBytes(Path.Combine(path, "unet", "diffusion_pytorch_model.safetensors"), [1, 2, 3]));
        using var provider = Started(o => o.ModelFolder = folder.Path);

        var error = Record.Exception(() => provider.GetRequiredService<INoisePredictor>());
        Assert.NotNull(error);
        Assert.Contains("diffusion_pytorch_model.safetensors", error.Message);
    }

    [Fact]
    public void The_dtype_knobs_reach_the_unet_text_encoder_and_vae()
    {
        using var folder = new TinyPipelineFolder();
        using var provider = Started(o =>
        {
            o.ModelFolder = folder.Path;
            o.DType = ScalarType.Float64;
            o.Device = "CPU";
        });
        var pipeline = provider.GetRequiredService<StableDiffusionPipeline>();
        Assert.Equal(ScalarType.Float64, pipeline.Unet.DType);
        Assert.All(pipeline.TextEncoder.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Equal(ScalarType.Float32, pipeline.Vae!.DType);
    }

    [Fact]
    public void Core_sampler_runs_one_step_over_the_pipeline_unet_with_the_folder_schedule()
    {
        const double editedBetaEnd = 0.015; // differs from SD v1.5's 0.012, so Core's default would be caught
        using var folder = new TinyPipelineFolder(path =>
        {
            var file = Path.Combine(path, "scheduler", "scheduler_config.json");
            var config = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            config["beta_end"] = editedBetaEnd;
            File.WriteAllText(file, config.ToJsonString());
        });
        using var provider = Started(o => o.ModelFolder = folder.Path, withCore: true);

        var sampler = Assert.IsType<DdimSampler>(provider.GetRequiredService<ISampler>());
        var pipeline = provider.GetRequiredService<StableDiffusionPipeline>();
        Assert.Equal(Path.Combine(folder.Path, "scheduler", "scheduler_config.json"), sampler.Schedule.Config.Source);
        Assert.Equal(editedBetaEnd, sampler.Schedule.Config.BetaEnd);
        Assert.Equal(pipeline.Schedule.AlphasCumprod, sampler.Schedule.AlphasCumprod);

        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        const double guidance = 5.0;
        var condition = pipeline.EncodePrompts(["a photo of a cat"], guidanceScale: guidance);
        var latents = pipeline.InitialLatents(1, pipeline.DefaultImageSize, pipeline.DefaultImageSize, generator);
        var step = sampler.Step(latents, 0, condition, candidates: 2, generator);

        Assert.Equal(new long[] { 2 }.Concat(latents.shape), step.Candidates.shape);
        Assert.True(isfinite(step.Candidates).all().item<bool>());
        // Reference: classifier-free guidance over the pipeline's UNet called directly.
        using (no_grad())
        {
            var t = full(1, sampler.Timesteps[0], ScalarType.Int64);
            var unconditional = pipeline.Unet.call(latents, t, condition.NegativeEmbeddings!);
            var conditional = pipeline.Unet.call(latents, t, condition.PromptEmbeddings);
            var expected = unconditional + guidance * (conditional - unconditional);
            TensorAssert.Close(expected, step.NoisePrediction.detach(), atol: 1e-5, rtol: 1e-5, what: "sampler noise prediction");
        }
    }

    [Fact]
    public void An_explicit_core_schedule_path_wins_and_the_folder_schedule_can_be_switched_off()
    {
        using var folder = new TinyPipelineFolder();
        var explicitPath = Path.GetFullPath(FixtureRoot.Combine("ddim", "scheduler_config.json"));
        using (var provider = Started(o => o.ModelFolder = folder.Path, core: c => c.Schedule.SchedulerConfigPath = explicitPath))
            Assert.Equal(explicitPath, provider.GetRequiredService<SchedulerConfig>().Source);

        using (var provider = Started(o => { o.ModelFolder = folder.Path; o.UseModelSchedulerForCore = false; }, withCore: true))
            Assert.Same(SchedulerConfig.StableDiffusionV15, provider.GetRequiredService<SchedulerConfig>());
    }

    [Fact]
    public void Configured_lora_adapts_the_attention_projections_and_only_its_parameters_train()
    {
        using var folder = new TinyPipelineFolder();
        using var provider = Started(o => { o.ModelFolder = folder.Path; o.Lora = new LoraConfig(); });

        var adapter = Assert.IsType<LoraAdapter>(provider.GetRequiredService<IAdapter>());
        Assert.Same(adapter, provider.GetRequiredService<LoraAdapter>());
        var pipeline = provider.GetRequiredService<StableDiffusionPipeline>();
        var predictor = Assert.IsType<UNetNoisePredictor>(provider.GetRequiredService<INoisePredictor>());
        Assert.Same(pipeline.Unet, predictor.UNet);

        string[] projections = ["to_q", "to_k", "to_v", "to_out.0"];
        var expectedLayers = pipeline.Unet.named_modules()
            .Where(m => m.module is LoraLinear && projections.Any(p => m.name.EndsWith("." + p, StringComparison.Ordinal)))
            .Select(m => m.name).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expectedLayers);
        Assert.Equal(expectedLayers, adapter.Layers.Keys.Order(StringComparer.Ordinal));
        Assert.All(adapter.Layers.Values, layer =>
        {
            Assert.Equal(4, layer.Rank);          // the paper's (D3PO's) rank
            Assert.Equal(4.0, layer.Alpha);       // alpha = rank
            Assert.Equal(0.0, layer.LoraB!.abs().max().item<float>());
        });

        var trainable = pipeline.Unet.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).Order(StringComparer.Ordinal);
        Assert.Equal(adapter.TrainableParameters.Select(p => p.Name).Order(StringComparer.Ordinal), trainable);
    }

    [Fact]
    public void A_peft_adapter_file_is_loaded_with_its_layers_ranks_and_alpha()
    {
        using var folder = new TinyPipelineFolder();
        using var provider = Started(o => { o.ModelFolder = folder.Path; o.LoraAdapterPath = LoraFixturePath; });

        var adapter = Assert.IsType<LoraAdapter>(provider.GetRequiredService<IAdapter>());
        using var file = SafetensorsFile.Open(LoraFixturePath);
        var alpha = double.Parse(file.Metadata["lora_alpha"], CultureInfo.InvariantCulture);
        Assert.Equal(file.Names.Count, 2 * adapter.Layers.Count);
        using var scope = NewDisposeScope();
        foreach (var (path, layer) in adapter.Layers)
        {
            Assert.Equal(alpha, layer.Alpha);
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(file.Read($"unet.{path}.lora_A.weight"), layer.LoraA!));
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(file.Read($"unet.{path}.lora_B.weight"), layer.LoraB!));
        }
        var unet = provider.GetRequiredService<StableDiffusionPipeline>().Unet;
        Assert.All(unet.named_parameters().Where(p => p.parameter.requires_grad), p => Assert.Contains(".lora_", p.name));
    }

    [Fact]
    public void A_kohya_adapter_file_is_loaded_into_the_configured_adapter()
    {
        using var folder = new TinyPipelineFolder();
        var kohyaPath = Path.Combine(folder.Path, "kohya_lora.safetensors");
        double alpha;
        int rank;
        using (var scope = NewDisposeScope())
        using (var peft = SafetensorsFile.Open(LoraFixturePath))
        {
            // kohya-ss layout: lora_unet_<module path with '_'>.lora_down / .lora_up / .alpha.
            alpha = double.Parse(peft.Metadata["lora_alpha"], CultureInfo.InvariantCulture);
            rank = int.Parse(peft.Metadata["rank"], CultureInfo.InvariantCulture);
            var kohya = new Dictionary<string, Tensor>();
            foreach (var key in peft.Names)
            {
                var module = key["unet.".Length..key.IndexOf(".lora_", StringComparison.Ordinal)];
                var name = "lora_unet_" + module.Replace('.', '_');
                kohya[name + (key.EndsWith("lora_A.weight", StringComparison.Ordinal) ? ".lora_down.weight" : ".lora_up.weight")] = peft.Read(key);
                kohya[name + ".alpha"] = tensor((float)alpha);
            }
            SafetensorsWriter.Save(kohyaPath, kohya);
        }

        using var provider = Started(o =>
        {
            o.ModelFolder = folder.Path;
            o.Lora = new LoraConfig { Rank = rank, Alpha = 1.0 };
            o.LoraAdapterPath = kohyaPath;
        });
        var adapter = provider.GetRequiredService<LoraAdapter>();
        using var check = NewDisposeScope();
        using var reference = SafetensorsFile.Open(LoraFixturePath);
        Assert.Equal(reference.Names.Count, 2 * adapter.Layers.Count);
        foreach (var (path, layer) in adapter.Layers)
        {
            Assert.Equal(alpha, layer.Alpha);     // the file's alpha replaces the configured one
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(reference.Read($"unet.{path}.lora_A.weight"), layer.LoraA!));
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(reference.Read($"unet.{path}.lora_B.weight"), layer.LoraB!));
            Assert.True(layer.LoraA!.requires_grad && layer.LoraB!.requires_grad);
        }
    }

    [Fact]
    public void A_missing_or_unset_model_folder_fails_at_start_naming_the_knob_and_the_folder()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"tailorpo-no-such-model-{Guid.NewGuid():N}");
        var failure = Assert.Single(StartFailures(o => o.ModelFolder = missing));
        Assert.Contains("TailorPODiffusionOptions.ModelFolder", failure);
        Assert.Contains(missing, failure);
        Assert.Contains("does not exist", failure);

        failure = Assert.Single(StartFailures(_ => { }));
        Assert.Contains("TailorPODiffusionOptions.ModelFolder is required", failure);
    }

    [Fact]
    public void With_core_added_a_bad_model_folder_is_still_reported_once_by_the_diffusion_options()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"tailorpo-no-such-model-{Guid.NewGuid():N}");
        using var provider = Build(o => o.ModelFolder = missing, withCore: true);
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(typeof(TailorPODiffusionOptions), error.OptionsType);
        Assert.Contains(missing, Assert.Single(error.Failures));
    }

    [Fact]
    public void A_folder_without_model_index_json_fails_at_start_naming_the_folder()
    {
        using var folder = new TinyPipelineFolder(path => File.Delete(Path.Combine(path, "model_index.json")));
        var failure = Assert.Single(StartFailures(o => o.ModelFolder = folder.Path));
        Assert.Contains("TailorPODiffusionOptions.ModelFolder", failure);
        Assert.Contains(folder.Path, failure);
        Assert.Contains("model_index.json", failure);
    }

    [Fact]
    public void A_missing_component_folder_fails_at_start_naming_it()
    {
        using var folder = new TinyPipelineFolder(path => Directory.Delete(Path.Combine(path, "vae"), recursive: true));
        var failure = Assert.Single(StartFailures(o => o.ModelFolder = folder.Path));
        Assert.Contains("TailorPODiffusionOptions.ModelFolder", failure);
        Assert.Contains("vae", failure);
    }

    [Fact]
    public void A_pixel_space_folder_without_vae_passes_start_validation_and_decodes_with_the_identity()
    {
        using var folder = new TinyPipelineFolder(pixelSpace: true);
        using var provider = Started(o => o.ModelFolder = folder.Path);
        Assert.IsType<PixelSpaceDecoder>(provider.GetRequiredService<ILatentDecoder>());
        Assert.Null(provider.GetRequiredService<StableDiffusionPipeline>().Vae);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void A_non_positive_lora_rank_fails_at_start(int rank)
    {
        using var folder = new TinyPipelineFolder();
        var failure = Assert.Single(StartFailures(o => { o.ModelFolder = folder.Path; o.Lora = new LoraConfig { Rank = rank }; }));
        Assert.Contains("TailorPODiffusionOptions.Lora.Rank", failure);
        Assert.Contains(rank.ToString(CultureInfo.InvariantCulture), failure);
    }

    [Fact]
    public void Requesting_cuda_that_is_not_there_fails_at_start_naming_the_device()
    {
        using var folder = new TinyPipelineFolder();
        if (!cuda.is_available())
        {
            var failure = Assert.Single(StartFailures(o => { o.ModelFolder = folder.Path; o.Device = "cuda"; }));
            Assert.Contains("TailorPODiffusionOptions.Device", failure);
            Assert.Contains("torch.cuda.is_available() is false", failure);
        }
        else
        {
            // On a GPU host, ask for one device more than there is.
            var device = $"cuda:{cuda.device_count()}";
            var failure = Assert.Single(StartFailures(o => { o.ModelFolder = folder.Path; o.Device = device; }));
            Assert.Contains("TailorPODiffusionOptions.Device", failure);
            Assert.Contains(device, failure);
        }
    }

    [Fact]
    public void Every_bad_knob_is_reported_together()
    {
        using var folder = new TinyPipelineFolder();
        var failures = StartFailures(o =>
        {
            o.ModelFolder = folder.Path;
            o.DType = ScalarType.Int32;
            o.VaeDType = ScalarType.Bool;
            o.Device = "gpu";
            o.Lora = new LoraConfig { Dropout = 1.5 };
            o.LoraAdapterPath = Path.Combine(folder.Path, "missing.safetensors");
        });
        Assert.Equal(5, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("TailorPODiffusionOptions.DType is Int32", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("TailorPODiffusionOptions.VaeDType is Bool", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("TailorPODiffusionOptions.Device 'gpu'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("TailorPODiffusionOptions.Lora.Dropout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("TailorPODiffusionOptions.LoraAdapterPath", StringComparison.Ordinal) && f.Contains("missing.safetensors"));
    }

    [Theory]
    [InlineData("cpu", DeviceType.CPU, -1)]
    [InlineData(" CUDA ", DeviceType.CUDA, -1)]
    [InlineData("cuda:1", DeviceType.CUDA, 1)]
    public void Device_names_parse_to_torch_devices(string text, DeviceType type, int index)
    {
        Assert.True(DeviceNames.TryParse(text, out var device));
        Assert.Equal(type, device.type);
        Assert.Equal(index, device.index);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("gpu")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:0:1")]
    public void Other_device_names_are_rejected(string text) => Assert.False(DeviceNames.TryParse(text, out _));
}
