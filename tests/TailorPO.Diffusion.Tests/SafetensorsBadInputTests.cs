using System.Text;
using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>Malformed safetensors files fail on open with a SafetensorsFormatException naming the file and the problem.</summary>
public sealed class SafetensorsBadInputTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-st-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Writes 8-byte length + header + data exactly as given (no validation).</summary>
    private string Raw(string name, string header, byte[] data, ulong? declaredLength = null)
    {
        var path = Path.Combine(_folder, name);
        var headerBytes = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes(declaredLength ?? (ulong)headerBytes.Length));
        stream.Write(headerBytes);
        stream.Write(data);
        return path;
    }

    private static SafetensorsFormatException Fails(string path, string expectedProblem)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => { using var f = SafetensorsFile.Open(path); });
        Assert.Contains(path, ex.Message);
        Assert.Contains(expectedProblem, ex.Problem);
        return ex;
    }

    [Fact]
    public void A_truncated_file_is_reported_as_possibly_truncated()
    {
        var path = Path.Combine(_folder, "truncated.safetensors");
        using (var scope = NewDisposeScope())
            SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["a"] = ones(4, 4), ["b"] = ones(8) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        Fails(path, "truncated");
    }

    [Fact]
    public void A_header_longer_than_the_file_is_reported()
    {
        var path = Raw("long-header.safetensors", "{}", [], declaredLength: 4096);
        Fails(path, "longer than the rest of the file");
    }

    [Fact]
    public void A_file_shorter_than_the_length_prefix_is_reported()
    {
        var path = Path.Combine(_folder, "tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Fails(path, "fewer than the 8-byte header length");
    }

    [Fact]
    public void Overlapping_offsets_are_reported_with_both_names()
    {
        var header = """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""";
        var ex = Fails(Raw("overlap.safetensors", header, new byte[24]), "overlap");
        Assert.Contains("'a'", ex.Problem);
        Assert.Contains("'b'", ex.Problem);
    }

    [Fact]
    public void An_unknown_dtype_is_reported_with_the_known_ones()
    {
        var header = """{"a":{"dtype":"X9","shape":[2],"data_offsets":[0,2]}}""";
        var ex = Fails(Raw("dtype.safetensors", header, new byte[2]), "unknown dtype 'X9'");
        Assert.Contains("F32", ex.Problem);
    }

    [Fact]
    public void A_shape_that_does_not_match_the_byte_range_is_reported()
    {
        var header = """{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""";
        Fails(Raw("shape.safetensors", header, new byte[20]), "needs 24 bytes but its data_offsets span 20");
    }

    [Fact]
    public void Invalid_json_is_reported()
    {
        Fails(Raw("json.safetensors", "{not json", new byte[8]), "not valid JSON");
        Fails(Raw("array.safetensors", "[1,2]", []), "not a JSON object");
    }

    [Fact]
    public void Negative_or_non_numeric_offsets_and_dimensions_are_reported()
    {
        Fails(Raw("neg.safetensors", """{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]), "invalid dimension");
        Fails(Raw("off.safetensors", """{"a":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}""", new byte[4]), "invalid data offset");
        Fails(Raw("rev.safetensors", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", new byte[4]), "end before begin");
    }

    [Fact]
    public void A_huge_declared_header_fails_fast_instead_of_allocating()
    {
        var path = Raw("huge.safetensors", "{}", [], declaredLength: ulong.MaxValue - 7);
        Fails(path, "exceeds the limit");
    }
}
