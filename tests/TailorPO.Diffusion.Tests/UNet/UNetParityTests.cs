using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.UNet;

/// <summary>The UNet reproduces diffusers 0.21.4 on every fixture case.</summary>
public class UNetParityTests(UNetFixture fixture, ITestOutputHelper output) : IClassFixture<UNetFixture>
{
    [Fact]
    public void Every_case_matches_diffusers_output()
    {
        Assert.NotEmpty(fixture.CaseNames);
        foreach (var name in fixture.CaseNames)
        {
            using var scope = NewDisposeScope();
            var expected = fixture.Cases.Get(name, "expected");
            using var noGrad = no_grad();
            var actual = fixture.Model.call(fixture.Cases.Get(name, "sample"), fixture.Cases.Get(name, "timestep"),
                fixture.Cases.Get(name, "encoder_hidden_states"));
            output.WriteLine($"{name}: timestep dtype {fixture.Cases.Get(name, "timestep").dtype}, max |diff| {TensorAssert.MaxAbsDifference(expected, actual):E3}");
            TensorAssert.Close(expected, actual, UNetFixture.Tolerance(expected), what: $"unet {name}");
        }
    }

    [Fact]
    public void Intermediate_outputs_match_the_recorded_debug_tensors()
    {
        var debugCases = fixture.Cases.Names.Where(n => n.Contains(".debug.")).Select(n => n[..n.IndexOf(".debug.")]).Distinct().ToList();
        Assert.NotEmpty(debugCases);
        foreach (var name in debugCases)
        {
            using var scope = NewDisposeScope();
            var seen = new Dictionary<string, Tensor>();
            using var noGrad = no_grad();
            fixture.Model.Forward(fixture.Cases.Get(name, "sample"), fixture.Cases.Get(name, "timestep"),
                fixture.Cases.Get(name, "encoder_hidden_states"), (key, value) => seen[key] = value.clone().DetachFromDisposeScope());
            var prefix = $"{name}.debug.";
            foreach (var tensorName in fixture.Cases.Names.Where(n => n.StartsWith(prefix)).Order(StringComparer.Ordinal))
            {
                var key = tensorName[prefix.Length..];
                Assert.True(seen.ContainsKey(key), $"the forward pass reported no '{key}'");
                var expected = fixture.Cases[tensorName];
                output.WriteLine($"{key}: max |diff| {TensorAssert.MaxAbsDifference(expected, seen[key]):E3}");
                TensorAssert.Close(expected, seen[key], UNetFixture.Tolerance(expected), what: key);
            }
            foreach (var t in seen.Values) t.Dispose();
        }
    }

    [Fact]
    public void Config_is_read_from_config_json()
    {
        var config = UNet2DConditionConfig.FromFile(Path.Combine(fixture.Folder, "config.json"));
        Assert.Equal(config, fixture.Model.Config);
        // The model's keys and shapes are exactly the file's (FromPretrained checked them; count them here too).
        using var file = TailorPO.Core.Safetensors.SafetensorsFile.Open(Path.Combine(fixture.Folder, "diffusion_pytorch_model.safetensors"));
        Assert.Equal(file.Names.Order(StringComparer.Ordinal), fixture.Model.state_dict().Keys.Order(StringComparer.Ordinal));
    }
}
