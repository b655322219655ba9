using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Lora;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Clip;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, item 11 (the last part): when weights follow, the loader builds the model with every parameter
/// uninitialised in the target dtype and device (<see cref="SkipInitScope"/>) instead of random-initialising it in
/// float32 first. The reference for "same result" is the previous path, run here explicitly: build with random
/// initialisation, cast, stream the same file in.
/// </summary>
public sealed class SkipInitLoadingTests
{
    /// <summary>One loadable model kind: its folder, how the loader loads it, how it was built before, and one forward pass.</summary>
    public sealed record ModelKind(
        string Name,
        Func<string, ModelLoadOptions, nn.Module> Load,
        Func<string, nn.Module> BuildRandom,
        Func<nn.Module, FixtureCases, ScalarType, Tensor> Run,
        string CasesFolder,
        string WeightsName)
    {
        public override string ToString() => Name;
    }

    private static string FirstCaseWith(FixtureCases cases, string field) =>
        cases.CaseNames().First(c => cases.Has($"{c}.{field}"));

    private static readonly ModelKind UNetKind = new("UNet",
        (folder, options) => UNet2DConditionModel.FromPretrained(folder, options),
        folder => new UNet2DConditionModel(UNet2DConditionConfig.FromFile(Path.Combine(folder, "config.json"))),
        (model, cases, dtype) =>
        {
            var c = FirstCaseWith(cases, "encoder_hidden_states");
            return ((UNet2DConditionModel)model).forward(cases.Get(c, "sample").to(dtype), cases.Get(c, "timestep"), cases.Get(c, "encoder_hidden_states").to(dtype));
        },
        "unet", UNet2DConditionModel.WeightFileName);

    private static readonly ModelKind VaeKind = new("VAE",
        (folder, options) => AutoencoderKL.FromPretrained(folder, options),
        folder => new AutoencoderKL(AutoencoderKLConfig.FromFile(Path.Combine(folder, "config.json"))),
        (model, cases, dtype) => ((AutoencoderKL)model).Decode(cases.Get(FirstCaseWith(cases, "latents"), "latents").to(dtype)),
        "vae", "diffusion_pytorch_model.safetensors");

    private static readonly ModelKind TextKind = new("CLIP text",
        (folder, options) => CLIPTextModel.FromPretrained(folder, options),
        folder => new CLIPTextModel(CLIPTextConfig.FromFile(Path.Combine(folder, "config.json"))),
        (model, cases, _) => ((CLIPTextModel)model).forward(cases.Get(FirstCaseWith(cases, "input_ids"), "input_ids")),
        ClipTestSupport.TextFolder, "model.safetensors");

    private static readonly ModelKind ProjectedTextKind = new("CLIP text with projection",
        (folder, options) => CLIPTextModelWithProjection.FromPretrained(folder, options),
        folder => new CLIPTextModelWithProjection(CLIPTextConfig.FromFile(Path.Combine(folder, "config.json"))),
        (model, cases, _) => ((CLIPTextModelWithProjection)model).forward(cases.Get(FirstCaseWith(cases, "input_ids"), "input_ids")),
        ClipTestSupport.TextFolder, "model.safetensors");

    private static readonly ModelKind VisionKind = new("CLIP vision with projection",
        (folder, options) => CLIPVisionModelWithProjection.FromPretrained(folder, options),
        folder => new CLIPVisionModelWithProjection(CLIPVisionConfig.FromFile(Path.Combine(folder, "config.json"))),
        (model, cases, dtype) => ((CLIPVisionModelWithProjection)model).forward(cases.Get(FirstCaseWith(cases, "pixel_values"), "pixel_values").to(dtype)),
        ClipTestSupport.VisionFolder, "model.safetensors");

    private static readonly ModelKind[] Kinds = [UNetKind, VaeKind, TextKind, ProjectedTextKind, VisionKind];

    public static TheoryData<ModelKind, ScalarType> KindsAndDTypes()
    {
        var data = new TheoryData<ModelKind, ScalarType>();
        foreach (var kind in Kinds)
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16 })
            data.Add(kind, dtype);
        return data;
    }

    public static TheoryData<ModelKind> AllKinds()
    {
        var data = new TheoryData<ModelKind>();
        foreach (var kind in Kinds) data.Add(kind);
        return data;
    }

    /// <summary>
    /// A model folder for <paramref name="kind"/>: the fixture folder itself, or for the projected text model (no
    /// fixture of its own) a copy of the text fixture with a <c>text_projection.weight</c> of the config's shape.
    /// </summary>
    private static TempModelFolder FolderOf(ModelKind kind, Action<Dictionary<string, Tensor>>? editWeights = null)
    {
        if (kind != ProjectedTextKind) return TempModelFolder.CopyOf(kind.CasesFolder, kind.WeightsName, editWeights: editWeights);
        var config = CLIPTextConfig.FromFile(FixtureRoot.Combine(kind.CasesFolder, "config.json"));
        return TempModelFolder.CopyOf(kind.CasesFolder, kind.WeightsName, editWeights: weights =>
        {
            weights["text_projection.weight"] = randn(new long[] { config.ProjectionDim, config.HiddenSize }, generator: new Generator(17));
            editWeights?.Invoke(weights);
        });
    }

    private static void AssertSameBytes(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(expected.contiguous().bytes.SequenceEqual(actual.contiguous().bytes), $"{what} differs from the previous loading path");
    }

    [Theory]
    [MemberData(nameof(KindsAndDTypes))]
    public void Loaded_models_are_bit_identical_to_building_with_random_init_then_loading(ModelKind kind, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var folder = FolderOf(kind);
        using var cases = FixtureCases.Load(kind.CasesFolder, "cases.safetensors");

        using var loaded = kind.Load(folder.Path, new ModelLoadOptions { DType = dtype, Device = CPU });

        // The previous path: random initialisation in float32, cast, then the file's values copied in.
        manual_seed(1234);
        using var reference = kind.BuildRandom(folder.Path);
        reference.to(dtype);
        var weights = SafetensorsFile.LoadAll(folder.File(kind.WeightsName));
        StateDictLoader.Load(reference, weights, folder.File(kind.WeightsName));
        reference.eval();

        var actual = loaded.state_dict();
        Assert.Equal(reference.state_dict().Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in reference.state_dict())
            AssertSameBytes(value, actual[key], key);
        var loadedParameters = loaded.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in reference.named_parameters())
            Assert.Equal(parameter.requires_grad, loadedParameters[name].requires_grad);
        Assert.False(loaded.training);

        using var noGrad = no_grad();
        AssertSameBytes(kind.Run(reference, cases, dtype), kind.Run(loaded, cases, dtype), $"{kind.Name} output");
    }

    [Theory]
    [MemberData(nameof(KindsAndDTypes))]
    public void The_loader_builds_parameters_in_the_target_dtype_and_device_without_drawing_random_numbers(ModelKind kind, ScalarType dtype)
    {
        using var folder = FolderOf(kind);
        manual_seed(99);
        using var expectedDraw = randn(16);

        manual_seed(99);
        using (var model = ModelLoader.BuildForLoading(() => kind.BuildRandom(folder.Path), new ModelLoadOptions { DType = dtype, Device = CPU }))
        {
            Assert.NotEmpty(model.parameters());
            Assert.All(model.named_parameters(), p =>
            {
                Assert.Equal(dtype, p.parameter.dtype);
                Assert.Equal(DeviceType.CPU, p.parameter.device.type);
            });
        }
        // No random initialisation and no template module drew from the global generator.
        using var draw = randn(16);
        AssertSameBytes(expectedDraw, draw, "the global generator's next draw");
        Assert.Null(SkipInitScope.Current);
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void A_model_loaded_inside_a_dispose_scope_outlives_the_scope(ModelKind kind)
    {
        using var folder = FolderOf(kind);
        using var cases = FixtureCases.Load(kind.CasesFolder, "cases.safetensors");
        nn.Module loaded;
        using (NewDisposeScope())
            loaded = kind.Load(folder.Path, new ModelLoadOptions { DType = ScalarType.Float16 });
        using (loaded)
        using (NewDisposeScope())
        using (no_grad())
        {
            Assert.All(loaded.parameters(), p => Assert.False(p.IsInvalid));
            var output = kind.Run(loaded, cases, ScalarType.Float16);
            Assert.Equal(ScalarType.Float16, output.dtype);
        }
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void A_checkpoint_missing_a_parameter_fails_naming_it(ModelKind kind)
    {
        string victim;
        using (var file = SafetensorsFile.Open(FixtureRoot.Combine(kind.CasesFolder, kind.WeightsName)))
            victim = file.Entries.Keys.Order(StringComparer.Ordinal).First();
        using var folder = FolderOf(kind, weights =>
        {
            weights[victim].Dispose();
            weights.Remove(victim);
        });

        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float16 })
        {
            var error = Assert.Throws<StateDictMismatchException>(() => kind.Load(folder.Path, new ModelLoadOptions { DType = dtype }));
            Assert.Equal(new[] { victim }, error.MissingKeys);
            Assert.Contains(victim, error.Message);
            Assert.Null(SkipInitScope.Current);
        }
    }

    /// <summary>A module with a parameter under a LoRA adapter name, which checkpoints may omit when the adapter was attached on purpose.</summary>
    private sealed class ModuleWithAdapterKey : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006 // field names are state-dict keys
        private readonly Linear base_layer;
        private readonly Linear lora_A;
#pragma warning restore IDE1006

        public ModuleWithAdapterKey() : base(nameof(ModuleWithAdapterKey))
        {
            base_layer = Layers.Linear(3, 2);
            lora_A = Layers.Linear(3, 1, hasBias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => base_layer.forward(input) + lora_A.forward(input);
    }

    [Fact]
    public void A_parameter_built_without_init_that_no_checkpoint_key_wrote_is_refused_even_under_an_optional_adapter_name()
    {
        using var model = ModelLoader.BuildForLoading(() => new ModuleWithAdapterKey(), ModelLoadOptions.Default);
        var written = model.state_dict().Where(p => !CheckpointFiles.IsAdapterKey(p.Key)).ToDictionary(p => p.Key, p => randn_like(p.Value));
        var adapterKey = Assert.Single(model.state_dict().Keys, CheckpointFiles.IsAdapterKey);

        // StateDictLoader alone accepts the file (adapter keys are optional for it): the loader's own check refuses.
        using var source = new DictionarySource(written, "in-memory weights", owns: true);
        var error = Assert.Throws<StateDictMismatchException>(() => ModelLoader.LoadInto(model, source, ModelLoadOptions.Default, ignoreKey: null));
        Assert.Equal(new[] { adapterKey }, error.MissingKeys);
        Assert.Contains(adapterKey, error.Message);
    }

    [Fact]
    public void Construction_without_a_scope_keeps_its_seeded_random_initialisation()
    {
        var config = UNet2DConditionConfig.FromFile(FixtureRoot.Combine("unet", "config.json"));
        manual_seed(21);
        using var first = new UNet2DConditionModel(config);

        using (SkipInitScope.Begin(ScalarType.Float16, CPU))
        using (new UNet2DConditionModel(config)) { }
        Assert.Null(SkipInitScope.Current);

        manual_seed(21);
        using var second = new UNet2DConditionModel(config);
        var again = second.state_dict();
        foreach (var (key, value) in first.state_dict())
        {
            Assert.Equal(ScalarType.Float32, again[key].dtype);
            AssertSameBytes(value, again[key], key);
        }
    }

    [Fact]
    public void Each_layer_outside_a_scope_is_initialised_exactly_as_its_TorchSharp_counterpart()
    {
        static void Same(Func<nn.Module> ours, Func<nn.Module> torchSharp)
        {
            manual_seed(5);
            using var a = ours();
            manual_seed(5);
            using var b = torchSharp();
            var expected = b.state_dict();
            foreach (var (key, value) in a.state_dict())
                AssertSameBytes(expected[key], value, $"{a.GetName()}.{key}");
        }

        Same(() => Layers.Linear(6, 4), () => nn.Linear(6, 4));
        Same(() => Layers.Linear(6, 4, hasBias: false), () => nn.Linear(6, 4, hasBias: false));
        Same(() => new Conv2dLayer(3, 5, 2, stride: 2, hasBias: false), () => nn.Conv2d(3, 5, 2, stride: 2, bias: false));
        Same(() => Layers.LayerNorm(7, 1e-5), () => nn.LayerNorm(7, 1e-5));
        Same(() => Layers.Embedding(11, 4), () => nn.Embedding(11, 4));
        Same(() => new Conv2dLayer(3, 5, 3, padding: 1), () => nn.Conv2d(3, 5, 3, padding: 1));
        Same(() => new LoraLinear(6, 4), () => nn.Linear(6, 4));
    }

    [Fact]
    public void Within_a_scope_every_layer_is_created_uninitialised_in_the_scope_dtype_and_keeps_its_keys_and_shapes()
    {
        nn.Module[] Build() =>
        [
            Layers.Linear(6, 4), new Conv2dLayer(3, 5, 2, stride: 2, hasBias: false), Layers.LayerNorm(7, 1e-5), Layers.Embedding(11, 4),
            new Conv2dLayer(3, 5, 3, padding: 1), new LoraLinear(6, 4), Normalization.GroupNorm(2, 4, 1e-6),
        ];
        var random = Build();
        nn.Module[] empty;
        using (SkipInitScope.Begin(ScalarType.BFloat16, CPU)) empty = Build();
        try
        {
            for (int i = 0; i < random.Length; i++)
            {
                var expected = random[i].state_dict();
                var actual = empty[i].state_dict();
                Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
                foreach (var (key, value) in expected)
                {
                    Assert.Equal(value.shape, actual[key].shape);
                    Assert.Equal(ScalarType.BFloat16, actual[key].dtype);
                }
            }
        }
        finally
        {
            foreach (var m in random.Concat(empty)) m.Dispose();
        }
    }

    [Fact]
    public void A_scope_belongs_to_its_thread_and_ends_in_order()
    {
        using (SkipInitScope.Begin(ScalarType.Float16, CPU))
        {
            Assert.NotNull(SkipInitScope.Current);
            SkipInitScope? seenElsewhere = SkipInitScope.Current;
            var other = new Thread(() => seenElsewhere = SkipInitScope.Current);
            other.Start();
            other.Join();
            Assert.Null(seenElsewhere);
            var outer = SkipInitScope.Current;
            var inner = SkipInitScope.Begin(ScalarType.BFloat16, CPU);
            Assert.Throws<InvalidOperationException>(outer!.Dispose);
            inner.Dispose();
            Assert.Same(outer, SkipInitScope.Current);
        }
        Assert.Null(SkipInitScope.Current);
    }
}
