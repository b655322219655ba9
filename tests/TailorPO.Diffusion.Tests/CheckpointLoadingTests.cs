using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>Pickle refusal and opt-in, dtype conversion on load, and mismatch reports that list every key.</summary>
public sealed class CheckpointLoadingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string FixtureWeights => FixtureRoot.Combine("unet", "diffusion_pytorch_model.safetensors");

    /// <summary>A stand-in for a caller's pickle reader: it records the call and serves the fixture weights.</summary>
    private sealed class RecordingLoader : IPickleCheckpointLoader
    {
        public List<string> Calls { get; } = [];

        public IReadOnlyDictionary<string, Tensor> Load(string path)
        {
            Calls.Add(path);
            return SafetensorsFile.LoadAll(FixtureWeights);
        }
    }

    [Theory]
    [InlineData("model.bin")]
    [InlineData("model.ckpt")]
    [InlineData("model.pt")]
    [InlineData("model.pth")]
    public void Pickle_extensions_are_refused_with_conversion_advice(string name)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, [0x80, 0x02, 0x7d, 0x71]);
        var ex = Assert.Throws<UnsafeCheckpointException>(() => CheckpointFiles.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("save_file", ex.Message);
        Assert.Contains("IPickleCheckpointLoader", ex.Message);
    }

    [Fact]
    public void Pickle_and_zip_signatures_are_refused_whatever_the_extension()
    {
        var zip = Path.Combine(_folder, "renamed-zip.safetensors");
        File.WriteAllBytes(zip, [(byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0, 0, 0]);
        Assert.Contains("zip", Assert.Throws<UnsafeCheckpointException>(() => CheckpointFiles.Read(zip)).Reason);
        var pickle = Path.Combine(_folder, "renamed-pickle.safetensors");
        File.WriteAllBytes(pickle, [0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Contains("pickle protocol 4", Assert.Throws<UnsafeCheckpointException>(() => CheckpointFiles.Read(pickle)).Reason);
    }

    [Fact]
    public void A_caller_supplied_loader_is_the_explicit_opt_in_for_pickle_folders()
    {
        File.Copy(FixtureRoot.Combine("unet", "config.json"), Path.Combine(_folder, "config.json"));
        File.WriteAllBytes(Path.Combine(_folder, "diffusion_pytorch_model.bin"), [(byte)'P', (byte)'K', 3, 4]);
        Assert.Throws<UnsafeCheckpointException>(() => UNet2DConditionModel.FromPretrained(_folder));

        var loader = new RecordingLoader();
        using var model = UNet2DConditionModel.FromPretrained(_folder, options: new CheckpointReadOptions { PickleLoader = loader });
        Assert.Single(loader.Calls);
        using var scope = NewDisposeScope();
        using var reference = SafetensorsFile.Open(FixtureWeights);
        Assert.Equal(0.0, TensorAssert.MaxAbsDifference(reference.Read("conv_in.weight"), model.state_dict()["conv_in.weight"]));
    }

    [Fact]
    public void A_folder_without_weights_names_the_files_it_looked_for()
    {
        File.Copy(FixtureRoot.Combine("unet", "config.json"), Path.Combine(_folder, "config.json"));
        var ex = Assert.Throws<FileNotFoundException>(() => UNet2DConditionModel.FromPretrained(_folder));
        Assert.Contains("diffusion_pytorch_model.safetensors", ex.Message);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Half_precision_variant_loads_into_float32_and_float32_loads_into_half(ScalarType half)
    {
        using var scope = NewDisposeScope();
        var weights = SafetensorsFile.LoadAll(FixtureWeights);
        var halfWeights = weights.ToDictionary(p => p.Key, p => p.Value.to(half));
        File.Copy(FixtureRoot.Combine("unet", "config.json"), Path.Combine(_folder, "config.json"));
        SafetensorsWriter.Save(Path.Combine(_folder, "diffusion_pytorch_model.fp16.safetensors"), halfWeights);

        // Half file (asked for by its variant: no loader substitutes one) -> float32 module: exactly the half values, widened.
        using (var model = UNet2DConditionModel.FromPretrained(_folder, variant: "fp16"))
        {
            Assert.Equal(ScalarType.Float32, model.DType);
            foreach (var (key, value) in model.state_dict())
                Assert.Equal(0.0, TensorAssert.MaxAbsDifference(halfWeights[key].to(ScalarType.Float32), value));
        }

        // Float32 file -> half module: each value rounded to the half type, as torch's cast does.
        using (var model = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"), dtype: half))
        {
            foreach (var (key, value) in model.state_dict())
            {
                Assert.Equal(half, value.dtype);
                Assert.Equal(halfWeights[key].bytes.ToArray(), value.contiguous().bytes.ToArray());
            }
        }
    }

    [Fact]
    public void Mismatched_keys_and_shapes_are_all_listed_in_one_exception()
    {
        using var scope = NewDisposeScope();
        using var model = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));
        var weights = SafetensorsFile.LoadAll(FixtureWeights);
        weights["conv_in.weightt"] = weights["conv_in.weight"];
        weights.Remove("conv_in.weight");
        weights["mid_block.typo.bias"] = weights["conv_out.bias"];
        weights.Remove("conv_out.bias");
        weights.Remove("time_embedding.linear_1.bias");
        // Shapes that differ from the module's, whatever sizes the fixture folder has.
        var moduleShapes = model.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
        var normChannels = moduleShapes["conv_norm_out.weight"][0];
        weights["conv_norm_out.weight"] = zeros(normChannels + 1);
        weights["down_blocks.0.resnets.0.conv1.weight"] = zeros([.. moduleShapes["down_blocks.0.resnets.0.conv1.weight"].Select((d, i) => i == 0 ? d + 1 : d)]);

        var ex = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(model, weights, "test weights"));
        Assert.Equal(["conv_in.weight", "conv_out.bias", "time_embedding.linear_1.bias"], ex.MissingKeys);
        Assert.Equal(["conv_in.weightt", "mid_block.typo.bias"], ex.UnexpectedKeys);
        Assert.Equal(2, ex.MisShapedKeys.Count);
        Assert.Contains(ex.MisShapedKeys, k => k.StartsWith($"conv_norm_out.weight: checkpoint [{normChannels + 1}] vs module [{normChannels}]"));
        foreach (var key in ex.MissingKeys.Concat(ex.UnexpectedKeys)) Assert.Contains(key, ex.Message);
    }
}
