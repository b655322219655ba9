using TailorPO.Diffusion.Lora;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.UNet;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Lora;

/// <summary>
/// Every LoRA layout written by PEFT / diffusers themselves (tests/fixtures/lora_layouts) loads here to the UNet
/// output those libraries' own loaders give, and survives being written back in each layout this library writes.
/// </summary>
public class LoraLayoutParityTests(ITestOutputHelper output)
{
    private static readonly LoraLayoutFixture Fixture = LoraLayoutFixture.Load();

    public static IEnumerable<object[]> Layouts => LoraLayoutFixture.LayoutNames();

    public static IEnumerable<object[]> LayoutsAndWrittenFormats =>
        LoraLayoutFixture.LayoutNames().SelectMany(l => new[] { LoraFileFormat.Peft, LoraFileFormat.Kohya }.Select(f => new[] { l[0], f }));

    [Theory]
    [MemberData(nameof(Layouts))]
    public void The_layout_loads_to_the_reference_libraries_output(string name)
    {
        var layout = Fixture.Get(name);
        using var cases = FixtureCases.Load(Fixture.CasesPath);
        using var expected = FixtureCases.Load(Fixture.ExpectedPath);
        using var model = Fixture.FreshUNet();
        using (var contents = LoraFile.Read(layout.Path, LoraLayoutFixture.AdaptableLayers(model)))
            Assert.Equal(layout.Format, contents.Format);
        var adapter = LoraAdapter.FromFile(model, layout.Path);
        Assert.NotEmpty(adapter.Layers);
        foreach (var caseName in Fixture.CaseNames)
        {
            using var scope = NewDisposeScope();
            var want = expected[$"{name}.{caseName}.expected"];
            var got = LoraLayoutFixture.Run(model, cases, caseName);
            Tensor baseline;
            using (adapter.Disable()) baseline = LoraLayoutFixture.Run(model, cases, caseName);
            var tolerance = UNetFixture.Tolerance(want);
            var effect = TensorAssert.MaxAbsDifference(want, baseline);
            output.WriteLine($"{name} {caseName}: max |C# - reference| {TensorAssert.MaxAbsDifference(want, got):E2}, adapter effect {effect:E2}, tolerance {tolerance:E1}");
            Assert.True(effect > 10 * tolerance, $"the {name} adapter should change the output well beyond the tolerance (effect {effect:E2})");
            TensorAssert.Close(want, got, tolerance, what: $"{name} {caseName}");
        }
    }

    [Theory]
    [MemberData(nameof(LayoutsAndWrittenFormats))]
    public void A_layout_written_back_reads_to_the_same_ranks_alphas_weights_and_output(string name, LoraFileFormat written)
    {
        var layout = Fixture.Get(name);
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-lora-{name}-{written}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cases = FixtureCases.Load(Fixture.CasesPath);
            using var first = Fixture.FreshUNet();
            var original = LoraAdapter.FromFile(first, layout.Path);
            original.Save(path, written);

            using var second = Fixture.FreshUNet();
            using (var contents = LoraFile.Read(path, LoraLayoutFixture.AdaptableLayers(second)))
                Assert.Equal(written, contents.Format);
            var reloaded = LoraAdapter.FromFile(second, path);
            Assert.Equal(original.Layers.Keys.Order(StringComparer.Ordinal), reloaded.Layers.Keys.Order(StringComparer.Ordinal));
            foreach (var (layerPath, layer) in original.Layers)
            {
                var other = reloaded.Layers[layerPath];
                Assert.Equal(layer.Rank, other.Rank);
                Assert.Equal(layer.Alpha, other.Alpha);
                Assert.Equal(layer.LoraA!.bytes.ToArray(), other.LoraA!.bytes.ToArray());
                Assert.Equal(layer.LoraB!.bytes.ToArray(), other.LoraB!.bytes.ToArray());
            }
            using var scope = NewDisposeScope();
            var caseName = Fixture.CaseNames[0];
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(LoraLayoutFixture.Run(first, cases, caseName), LoraLayoutFixture.Run(second, cases, caseName)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Each fixture layout, written in each layout this library writes, reloads to the reference libraries' output
    /// for the original file. With <see cref="ExportVariable"/> set, the written files and their C# outputs are kept
    /// there for tests/fixtures/lora_layouts/tools/check_written.py, which loads them with PEFT and diffusers.
    /// </summary>
    [Fact]
    public void Every_written_layout_reloads_to_the_reference_output_of_its_source()
    {
        var export = Environment.GetEnvironmentVariable(ExportVariable);
        var folder = export ?? Directory.CreateTempSubdirectory("tailorpo-lora-written-").FullName;
        Directory.CreateDirectory(folder);
        try
        {
            using var cases = FixtureCases.Load(Fixture.CasesPath);
            using var expected = FixtureCases.Load(Fixture.ExpectedPath);
            using var scope = NewDisposeScope();
            var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var layout in Fixture.Layouts)
            {
                using var source = Fixture.FreshUNet();
                var adapter = LoraAdapter.FromFile(source, layout.Path);
                adapter.Save(Path.Combine(folder, $"{layout.Name}.peft.safetensors"), LoraFileFormat.Peft);
                adapter.Save(Path.Combine(folder, $"{layout.Name}.kohya.safetensors"), LoraFileFormat.Kohya);
                foreach (var written in new[] { "peft", "kohya" })
                {
                    using var model = Fixture.FreshUNet();
                    LoraAdapter.FromFile(model, Path.Combine(folder, $"{layout.Name}.{written}.safetensors"));
                    foreach (var caseName in Fixture.CaseNames)
                    {
                        var want = expected[$"{layout.Name}.{caseName}.expected"];
                        var got = LoraLayoutFixture.Run(model, cases, caseName);
                        output.WriteLine($"{layout.Name} written as {written}, {caseName}: max |C# - reference| {TensorAssert.MaxAbsDifference(want, got):E2}");
                        TensorAssert.Close(want, got, UNetFixture.Tolerance(want), what: $"{layout.Name} written as {written}, {caseName}");
                        outputs[$"{layout.Name}.{written}.{caseName}.csharp"] = got;
                    }
                }
            }
            SafetensorsWriter.Save(Path.Combine(folder, "csharp_outputs.safetensors"), outputs);
        }
        finally
        {
            if (export is null) Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Where <see cref="Every_written_layout_reloads_to_the_reference_output_of_its_source"/> keeps its files for the Python check.</summary>
    public const string ExportVariable = "TAILORPO_LORA_EXPORT";

    /// <summary>
    /// Network alphas in diffusers' older layouts: the kohya fixture's weights and alphas, renamed the way diffusers'
    /// kohya conversion names them (<c>unet.&lt;attention&gt;.processor.to_q_lora.down.weight</c> with a
    /// <c>....down.weight.alpha</c>), and as <c>unet.&lt;path&gt;.lora.down.weight</c> with <c>unet.&lt;path&gt;.alpha</c>,
    /// give the kohya fixture's reference output.
    /// </summary>
    [Theory]
    [InlineData(LoraFileFormat.DiffusersAttentionProcessors)]
    [InlineData(LoraFileFormat.DiffusersLoraLayers)]
    public void Network_alphas_in_the_older_diffusers_layouts_scale_like_the_kohya_reference(LoraFileFormat style)
    {
        var kohya = Fixture.Layouts.First(l => l.Format == LoraFileFormat.Kohya);
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-lora-network-alphas-{style}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cases = FixtureCases.Load(Fixture.CasesPath);
            using var expected = FixtureCases.Load(Fixture.ExpectedPath);
            using var model = Fixture.FreshUNet();
            var byKohyaName = LoraLayoutFixture.AdaptableLayers(model).Keys.ToDictionary(p => "lora_unet_" + p.Replace('.', '_'), StringComparer.Ordinal);
            using (var file = SafetensorsFile.Open(kohya.Path))
            {
                var renamed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var key in file.Names)
                {
                    var dot = key.IndexOf('.');
                    var layer = byKohyaName[key[..dot]];
                    var split = layer.LastIndexOf(layer.EndsWith("to_out.0", StringComparison.Ordinal) ? ".to_out.0" : ".", StringComparison.Ordinal);
                    var projection = layer[(split + 1)..].Replace("to_out.0", "to_out", StringComparison.Ordinal);
                    var down = style == LoraFileFormat.DiffusersAttentionProcessors
                        ? $"unet.{layer[..split]}.processor.{projection}_lora.down.weight"
                        : $"unet.{layer}.lora.down.weight";
                    var name = key[(dot + 1)..] switch
                    {
                        "lora_down.weight" => down,
                        "lora_up.weight" => down.Replace(".down.weight", ".up.weight", StringComparison.Ordinal),
                        _ => style == LoraFileFormat.DiffusersAttentionProcessors ? down + ".alpha" : $"unet.{layer}.alpha",
                    };
                    renamed[name] = file.Read(key);
                }
                SafetensorsWriter.Save(path, renamed);
                foreach (var t in renamed.Values) t.Dispose();
            }
            using (var contents = LoraFile.Read(path, LoraLayoutFixture.AdaptableLayers(model)))
                Assert.Equal(style, contents.Format);
            LoraAdapter.FromFile(model, path);
            foreach (var caseName in Fixture.CaseNames)
            {
                using var scope = NewDisposeScope();
                var want = expected[$"{kohya.Name}.{caseName}.expected"];
                var got = LoraLayoutFixture.Run(model, cases, caseName);
                output.WriteLine($"{style} with network alphas, {caseName}: max |C# - kohya reference| {TensorAssert.MaxAbsDifference(want, got):E2}");
                TensorAssert.Close(want, got, UNetFixture.Tolerance(want), what: $"{style} {caseName}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Per_layer_ranks_and_alphas_are_written_as_peft_patterns_with_every_key_a_lora_key()
    {
        // The PEFT fixture has lora_alpha != r, a rank_pattern and an alpha_pattern, so its layers differ.
        var layout = Fixture.Layouts.First(l => l.Format == LoraFileFormat.Peft);
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-lora-patterns-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var model = Fixture.FreshUNet();
            var adapter = LoraAdapter.FromFile(model, layout.Path);
            Assert.True(adapter.Layers.Values.Select(l => l.Rank).Distinct().Count() > 1, "the fixture should have layers of different ranks");
            Assert.True(adapter.Layers.Values.Select(l => l.Alpha).Distinct().Count() > 1, "the fixture should have layers of different alphas");
            adapter.Save(path);

            using var file = SafetensorsFile.Open(path);
            // diffusers' loader refuses any key without "lora" in it, as per-layer alpha tensors were.
            Assert.All(file.Names, k => Assert.Contains("lora", k, StringComparison.Ordinal));
            Assert.False(file.Metadata.ContainsKey("lora_alpha"), "a single top-level lora_alpha would be wrong for some layers");
            using var config = System.Text.Json.JsonDocument.Parse(file.Metadata["lora_adapter_metadata"]);
            var root = config.RootElement;
            int r = root.GetProperty("unet.r").GetInt32();
            double alpha = root.GetProperty("unet.lora_alpha").GetDouble();
            var rankPattern = root.GetProperty("unet.rank_pattern").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
            var alphaPattern = root.GetProperty("unet.alpha_pattern").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            foreach (var (layerPath, layer) in adapter.Layers)
            {
                Assert.Equal(layer.Rank, rankPattern.GetValueOrDefault(layerPath, r));
                Assert.Equal(layer.Alpha, alphaPattern.GetValueOrDefault(layerPath, alpha));
            }
            Assert.All(rankPattern, p => Assert.NotEqual(r, p.Value));
            Assert.All(alphaPattern, p => Assert.NotEqual(alpha, p.Value));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
