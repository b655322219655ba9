using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, item 11: one loader for every model with the same options (variant, dtype, device, read
/// options with the pickle opt-in, limits) and no silent variant fallback; weights stream in after
/// every name and shape was checked from the headers, one tensor at a time.
/// </summary>
public sealed class OneLoaderTests
{
    /// <summary>A source that records what is read (and whether the previous tensor was already released), and can lie about one shape.</summary>
    private sealed class CountingSource(TensorSource inner, string? misShapedKey = null) : TensorSource
    {
        private Tensor? _last;

        public List<string> Reads { get; } = [];

        /// <summary>Reads made while the tensor of the previous read was still alive.</summary>
        public int Overlaps { get; private set; }

        public override string Description => inner.Description;

        public override IReadOnlyCollection<string> Keys => inner.Keys;

        public override bool Contains(string key) => inner.Contains(key);

        public override long[] ShapeOf(string key) => key == misShapedKey ? [.. inner.ShapeOf(key), 1] : inner.ShapeOf(key);

        public override Tensor Read(string key)
        {
            if (_last is { IsInvalid: false }) Overlaps++;
            Reads.Add(key);
            return _last = inner.Read(key);
        }

        public override void Dispose() => inner.Dispose();
    }

    [Fact]
    public void Shapes_are_checked_from_the_headers_before_anything_is_read_then_one_tensor_at_a_time_is_streamed()
    {
        using var model = new AutoencoderKL(AutoencoderKLConfig.FromFile(FixtureRoot.Combine("vae", "config.json")));
        var weights = FixtureRoot.Combine("vae", "diffusion_pytorch_model.safetensors");

        var victim = model.state_dict().Keys.Order(StringComparer.Ordinal).Last();
        using (var lying = new CountingSource(new SafetensorsSource(SafetensorsFile.Open(weights)), victim))
        {
            var error = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(model, lying));
            Assert.Contains(error.MisShapedKeys, k => k.StartsWith(victim, StringComparison.Ordinal));
            Assert.Empty(lying.Reads);
        }

        using var honest = new CountingSource(new SafetensorsSource(SafetensorsFile.Open(weights)));
        StateDictLoader.Load(model, honest);
        Assert.Equal(model.state_dict().Count, honest.Reads.Count);
        Assert.Equal(honest.Reads.Count, honest.Reads.Distinct().Count());
        Assert.Equal(0, honest.Overlaps);
        using var file = SafetensorsFile.Open(weights);
        using var scope = NewDisposeScope();
        foreach (var (key, value) in model.state_dict())
            Assert.True(file.Read(key).bytes.SequenceEqual(value.contiguous().bytes), key);
    }

    [Fact]
    public void No_loader_falls_back_to_a_variant_it_was_not_asked_for()
    {
        using var folder = TempModelFolder.CopyOf("unet", "diffusion_pytorch_model.safetensors", savedWeightsName: "diffusion_pytorch_model.fp16.safetensors");
        var error = Assert.Throws<FileNotFoundException>(() => UNet2DConditionModel.FromPretrained(folder.Path));
        Assert.Contains("diffusion_pytorch_model.safetensors", error.Message);
        Assert.Contains("ModelLoadOptions.Variant", error.Message);
        using var model = UNet2DConditionModel.FromPretrained(folder.Path, new ModelLoadOptions { Variant = "fp16" });
        Assert.NotNull(model);
    }

    [Fact]
    public void Every_model_takes_the_same_options()
    {
        var options = new ModelLoadOptions { DType = ScalarType.BFloat16, Device = CPU };
        using var unet = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"), options);
        using var vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine("vae"), options);
        using var text = CLIPTextModel.FromPretrained(FixtureRoot.Combine("clip_text"), options);
        using var vision = CLIPVisionModelWithProjection.FromPretrained(FixtureRoot.Combine("aesthetic"), options);
        foreach (TorchSharp.torch.nn.Module model in new TorchSharp.torch.nn.Module[] { unet, vae, text, vision })
        {
            Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            Assert.False(model.training);
        }

        Assert.Throws<ArgumentException>(() => UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"), new ModelLoadOptions { DType = ScalarType.Int32 }));
        Assert.Throws<ArgumentException>(() => AutoencoderKL.FromPretrained(FixtureRoot.Combine("vae"), new ModelLoadOptions { Variant = "../fp16" }));
    }

    private sealed class RecordingLoader : IPickleCheckpointLoader
    {
        public List<string> Calls { get; } = [];

        public IReadOnlyDictionary<string, Tensor> Load(string path)
        {
            Calls.Add(path);
            return SafetensorsFile.LoadAll(FixtureRoot.Combine("clip_text", "model.safetensors"));
        }
    }

    [Fact]
    public void The_pickle_opt_in_reaches_the_CLIP_loaders_too()
    {
        using var folder = new TempModelFolder();
        File.Copy(FixtureRoot.Combine("clip_text", "config.json"), folder.File("config.json"));
        File.WriteAllBytes(folder.File("pytorch_model.bin"), [0x80, 0x02]);
        Assert.Throws<FileNotFoundException>(() => CLIPTextModel.FromPretrained(folder.Path));

        var loader = new RecordingLoader();
        using var model = CLIPTextModel.FromPretrained(folder.Path, new ModelLoadOptions { ReadOptions = new CheckpointReadOptions { PickleLoader = loader } });
        Assert.Equal([folder.File("pytorch_model.bin")], loader.Calls);
        using var reference = CLIPTextModel.FromPretrained(FixtureRoot.Combine("clip_text"));
        var loaded = model.state_dict();
        foreach (var (key, value) in reference.state_dict())
            Assert.True(value.contiguous().bytes.SequenceEqual(loaded[key].contiguous().bytes), key);
    }
}
