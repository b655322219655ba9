using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>The reader opens every fixture file and a written file reads back bit-exact.</summary>
public class SafetensorsSmokeTests
{
    [Fact]
    public void Every_fixture_safetensors_file_opens_and_reads()
    {
        var files = Directory.GetFiles(FixtureRoot.Path, "*.safetensors", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var path in files)
        {
            using var file = SafetensorsFile.Open(path);
            Assert.NotEmpty(file.Names);
            using var scope = NewDisposeScope();
            foreach (var name in file.Names)
            {
                var tensor = file.Read(name);
                Assert.Equal(file.Entries[name].Shape, tensor.shape);
            }
        }
    }

    [Fact]
    public void Written_file_reads_back_bit_exact_with_metadata()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(7);
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.weight"] = randn(3, 5, generator: gen),
            ["b.half"] = randn(4, generator: gen).to(ScalarType.Float16),
            ["c.bf16"] = randn(2, 2, generator: gen).to(ScalarType.BFloat16),
            ["d.ids"] = arange(10, dtype: ScalarType.Int64),
            ["e.scalar"] = tensor(3.5f),
            ["f.mask"] = tensor(new[] { true, false, true }),
        };
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });
            using var file = SafetensorsFile.Open(path);
            Assert.Equal("pt", file.Metadata["format"]);
            Assert.Equal("x", file.Metadata["note"]);
            Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Names);
            foreach (var (name, expected) in tensors)
            {
                var actual = file.Read(name);
                Assert.Equal(expected.dtype, actual.dtype);
                Assert.Equal(expected.shape, actual.shape);
                Assert.Equal(expected.bytes.ToArray(), actual.bytes.ToArray());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
