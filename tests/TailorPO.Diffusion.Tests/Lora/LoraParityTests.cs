using System.Globalization;
using System.Text.RegularExpressions;
using TailorPO.Diffusion.Lora;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.UNet;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Lora;

/// <summary>LoRA on the fixture UNet reproduces diffusers at every recorded scale, merged and un-merged, and round-trips through files.</summary>
public class LoraParityTests(UNetFixture fixture, ITestOutputHelper output) : IClassFixture<UNetFixture>
{
    private static readonly Regex ScaledCase = new(@"^(?<case>[^.]+)\.scale_(?<scale>.+)\.expected$", RegexOptions.CultureInvariant);

    private static string LoraPath => FixtureRoot.Combine("unet", "lora", "pytorch_lora_weights.safetensors");

    private Tensor Run(UNet2DConditionModel model, string caseName)
    {
        using var noGrad = no_grad();
        return model.call(fixture.Cases.Get(caseName, "sample"), fixture.Cases.Get(caseName, "timestep"),
            fixture.Cases.Get(caseName, "encoder_hidden_states"));
    }

    [Fact]
    public void Every_recorded_scale_matches_diffusers_both_unmerged_and_merged()
    {
        using var loraCases = FixtureCases.Load("unet", "lora_cases.safetensors");
        var scaled = loraCases.Names.Select(n => ScaledCase.Match(n)).Where(m => m.Success).ToList();
        Assert.NotEmpty(scaled);
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        var adapter = LoraAdapter.FromFile(model, LoraPath);
        foreach (var match in scaled)
        {
            using var scope = NewDisposeScope();
            var caseName = match.Groups["case"].Value;
            var scale = double.Parse(match.Groups["scale"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            var expected = loraCases[match.Value];
            var tolerance = UNetFixture.Tolerance(expected);

            adapter.Scale = scale;
            var unmerged = Run(model, caseName);
            adapter.Merge();
            var merged = Run(model, caseName);
            adapter.Unmerge();
            output.WriteLine($"{match.Value}: un-merged {TensorAssert.MaxAbsDifference(expected, unmerged):E3}, merged {TensorAssert.MaxAbsDifference(expected, merged):E3}");
            TensorAssert.Close(expected, unmerged, tolerance, what: $"{match.Value} un-merged");
            TensorAssert.Close(expected, merged, tolerance, what: $"{match.Value} merged");
        }
    }

    [Fact]
    public void Float16_unet_with_float32_adapters_matches_at_half_precision_merged_and_unmerged()
    {
        using var loraCases = FixtureCases.Load("unet", "lora_cases.safetensors");
        var match = loraCases.Names.Select(n => ScaledCase.Match(n)).First(m => m.Success);
        var caseName = match.Groups["case"].Value;
        var scale = double.Parse(match.Groups["scale"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder, dtype: ScalarType.Float16);
        var adapter = LoraAdapter.FromFile(model, LoraPath);
        adapter.Scale = scale;
        Assert.All(adapter.Layers.Values, l => Assert.Equal(ScalarType.Float32, l.LoraA!.dtype));
        var predictor = new UNetNoisePredictor(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var expected = loraCases[match.Value];
        // 16 units of float16 rounding (2^-11) relative to the output scale, as for the base UNet.
        var tolerance = 16 * Math.Pow(2, -11) * Math.Max(1, expected.abs().max().item<float>());
        Tensor Predict() => predictor.PredictNoise(fixture.Cases.Get(caseName, "sample"), fixture.Cases.Get(caseName, "timestep"),
            fixture.Cases.Get(caseName, "encoder_hidden_states"));
        var unmerged = Predict();
        adapter.Merge();
        var merged = Predict();
        output.WriteLine($"fp16 {match.Value}: un-merged {TensorAssert.MaxAbsDifference(expected, unmerged):E3}, merged {TensorAssert.MaxAbsDifference(expected, merged):E3}");
        TensorAssert.Close(expected, unmerged, tolerance, what: "fp16 un-merged");
        TensorAssert.Close(expected, merged, tolerance, what: "fp16 merged");
    }

    [Fact]
    public void Disabled_adapter_gives_the_base_model_and_unmerge_restores_the_base_weights()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        using var scope = NewDisposeScope();
        var baseWeights = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var adapter = LoraAdapter.FromFile(model, LoraPath);
        var caseName = fixture.CaseNames[0];
        var expected = fixture.Cases.Get(caseName, "expected");
        using (adapter.Disable())
            TensorAssert.Close(expected, Run(model, caseName), UNetFixture.Tolerance(expected), what: "adapter disabled");
        Assert.True(adapter.Enabled);

        adapter.Merge();
        Assert.True(adapter.IsMerged);
        adapter.Enabled = false; // disabling un-merges
        Assert.False(adapter.IsMerged);
        var restored = model.state_dict(); // once: rebuilding it per key made this test take seconds
        foreach (var (key, value) in baseWeights)
            TensorAssert.Close(value, restored[key], 1e-6, what: key);
        TensorAssert.Close(expected, Run(model, caseName), UNetFixture.Tolerance(expected), what: "after merge + disable");
    }

    [Fact]
    public void Saved_adapter_reads_back_bit_exact_and_reloads_to_the_same_output()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-lora-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var scope = NewDisposeScope();
            using var first = UNet2DConditionModel.FromPretrained(fixture.Folder);
            var adapter = LoraAdapter.Attach(first, new LoraConfig { Rank = 3, Alpha = 6 }, new Generator(11));
            // Give B non-zero values so the adapter changes the output.
            using (no_grad())
                foreach (var (name, p) in adapter.TrainableParameters.Where(p => p.Name.EndsWith("lora_B.weight")))
                    p.copy_(randn(p.shape, generator: new Generator((ulong)name.Length)) * 0.1);
            adapter.Save(path);

            using (var file = SafetensorsFile.Open(path))
            {
                Assert.Equal("3", file.Metadata["rank"]);
                Assert.Equal("6", file.Metadata["lora_alpha"]);
                Assert.Equal(adapter.TrainableParameters.Count, file.Names.Count);
                foreach (var (name, parameter) in adapter.TrainableParameters)
                {
                    var stored = file.Read("unet." + name);
                    Assert.Equal(parameter.dtype, stored.dtype);
                    Assert.Equal(parameter.detach().contiguous().bytes.ToArray(), stored.bytes.ToArray());
                }
            }

            using var second = UNet2DConditionModel.FromPretrained(fixture.Folder);
            var reloaded = LoraAdapter.FromFile(second, path);
            Assert.Equal(adapter.Layers.Keys.Order(), reloaded.Layers.Keys.Order());
            var caseName = fixture.CaseNames[0];
            var before = Run(first, caseName);
            var after = Run(second, caseName);
            Assert.True(TensorAssert.MaxAbsDifference(fixture.Cases.Get(caseName, "expected"), before) > 1e-3, "the saved adapter should change the output");
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(before, after));

            // Load into an existing adapter of the same shape.
            using var third = UNet2DConditionModel.FromPretrained(fixture.Folder);
            var fresh = LoraAdapter.Attach(third, new LoraConfig { Rank = 3, Alpha = 6 }, new Generator(99));
            fresh.Load(path);
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(before, Run(third, caseName)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Kohya_file_loads_the_same_as_the_peft_file()
    {
        var kohyaPath = Path.Combine(Path.GetTempPath(), $"tailorpo-kohya-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var scope = NewDisposeScope();
            // Build a kohya-ss file from the fixture: lora_unet_<path with '_'>.lora_down/.lora_up/.alpha.
            using var peft = SafetensorsFile.Open(LoraPath);
            var alpha = float.Parse(peft.Metadata["lora_alpha"], CultureInfo.InvariantCulture);
            var kohya = new Dictionary<string, Tensor>();
            foreach (var key in peft.Names)
            {
                var module = key["unet.".Length..key.IndexOf(".lora_", StringComparison.Ordinal)];
                var name = "lora_unet_" + module.Replace('.', '_');
                kohya[name + (key.EndsWith("lora_A.weight") ? ".lora_down.weight" : ".lora_up.weight")] = peft.Read(key);
                kohya[name + ".alpha"] = tensor(alpha);
            }
            kohya["lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"] = zeros(4, 32);
            SafetensorsWriter.Save(kohyaPath, kohya);

            using var a = UNet2DConditionModel.FromPretrained(fixture.Folder);
            using var b = UNet2DConditionModel.FromPretrained(fixture.Folder);
            var fromPeft = LoraAdapter.FromFile(a, LoraPath);
            var fromKohya = LoraAdapter.FromFile(b, kohyaPath);
            Assert.Equal(fromPeft.Layers.Keys.Order(), fromKohya.Layers.Keys.Order());
            foreach (var (path, layer) in fromPeft.Layers)
            {
                Assert.Equal(layer.Alpha, fromKohya.Layers[path].Alpha);
                Assert.Equal(0.0, TensorAssert.MaxAbsDifference(layer.LoraA!, fromKohya.Layers[path].LoraA!));
                Assert.Equal(0.0, TensorAssert.MaxAbsDifference(layer.LoraB!, fromKohya.Layers[path].LoraB!));
            }
            var caseName = fixture.CaseNames[^1];
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(Run(a, caseName), Run(b, caseName)));
        }
        finally
        {
            File.Delete(kohyaPath);
        }
    }
}
