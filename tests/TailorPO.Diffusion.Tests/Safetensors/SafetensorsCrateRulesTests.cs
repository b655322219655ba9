using System.Text;
using System.Text.Json.Nodes;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>
/// Issue 11, items 1-4: the reader accepts exactly what the reference Rust crate accepts (contiguous
/// tensors tiling the data section from byte 0 to its end, no duplicate fields or names, valid UTF-8),
/// and every bad file fails with <see cref="SafetensorsFormatException"/> naming the file, before any
/// tensor is allocated.
/// </summary>
public sealed class SafetensorsCrateRulesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-st-rules-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static IEnumerable<string> FixtureFiles() =>
        Directory.GetFiles(FixtureRoot.Path, "*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    private static SafetensorsFormatException Refused(string path, string? problem = null)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => { using var f = SafetensorsFile.Open(path); });
        Assert.Contains(path, ex.Message);
        if (problem is not null) Assert.Contains(problem, ex.Problem);
        return ex;
    }

    private static void Accepted(string path, int expectedTensors)
    {
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(expectedTensors, file.Names.Count);
    }

    /// <summary>The header's entries (without __metadata__) sorted by begin offset.</summary>
    private static List<(string Name, long Begin, long End)> Ranges(JsonObject header) =>
        header.Where(p => p.Key != "__metadata__")
            .Select(p => (p.Key, p.Value!["data_offsets"]![0]!.GetValue<long>(), p.Value!["data_offsets"]![1]!.GetValue<long>()))
            .OrderBy(r => r.Item2).ToList();

    // ---- item 1: silent corruption by a shortened header length --------------------------------

    [Fact]
    public void A_header_length_shortened_into_its_space_padding_is_refused_for_every_fixture_file()
    {
        int checkedCases = 0;
        foreach (var fixture in FixtureFiles())
        {
            var raw = RawSafetensors.Read(fixture);
            int padding = raw.Header.Length - raw.HeaderText.TrimEnd(' ').Length;
            // Every decrement that still leaves valid JSON (padding) and a few more that cut into the JSON.
            for (int k = 1; k <= Math.Max(padding, 1) + 2; k++)
            {
                var path = PathOf($"short-{k}-{Path.GetFileName(fixture)}");
                File.WriteAllBytes(path, raw.ToBytes((ulong)(raw.Header.Length - k)));
                var ex = Refused(path);
                if (k <= padding) Assert.Contains("trailing bytes", ex.Problem);
                checkedCases++;
            }
        }
        Assert.True(checkedCases > 0);
    }

    [Fact]
    public void The_vae_from_a_header_length_shortened_by_its_padding_is_refused_instead_of_loading_shifted_weights()
    {
        var raw = RawSafetensors.Read(FixtureRoot.Combine("vae", "diffusion_pytorch_model.safetensors"));
        int padding = raw.Header.Length - raw.HeaderText.TrimEnd(' ').Length;
        Assert.True(padding > 0, "the fixture header is padded with spaces (README), so a shortened length still parses as JSON");
        using var folder = TempModelFolder.CopyOf("vae", "diffusion_pytorch_model.safetensors");
        var weights = folder.File("diffusion_pytorch_model.safetensors");
        var copy = RawSafetensors.Read(weights);
        File.WriteAllBytes(weights, copy.ToBytes((ulong)(copy.Header.Length - 1)));
        var ex = Assert.Throws<SafetensorsFormatException>(() => AutoencoderKL.FromPretrained(folder.Path));
        Assert.Contains(weights, ex.Message);
    }

    // ---- item 2: what the crate refuses --------------------------------------------------------

    [Fact]
    public void An_empty_header_with_a_body_attached_is_refused_and_without_one_accepted()
    {
        Refused(RawSafetensors.Write(PathOf("empty-body.safetensors"), "{}", new byte[16]), "trailing bytes");
        Accepted(RawSafetensors.Write(PathOf("empty.safetensors"), "{}      ", []), 0);
        Accepted(RawSafetensors.Write(PathOf("empty-meta.safetensors"), """{"__metadata__":null}""", []), 0);
    }

    [Fact]
    public void Bytes_appended_after_the_last_tensor_are_refused()
    {
        foreach (var fixture in FixtureFiles())
        {
            var raw = RawSafetensors.Read(fixture);
            var path = PathOf("appended-" + Path.GetFileName(fixture));
            File.WriteAllBytes(path, [.. raw.ToBytes(), 0]);
            Refused(path, "1 trailing bytes");
        }
    }

    [Fact]
    public void A_tensor_deleted_from_the_header_leaves_a_hole_that_is_refused()
    {
        var raw = RawSafetensors.Read(FixtureRoot.Combine("vae", "diffusion_pytorch_model.safetensors"));
        var header = JsonNode.Parse(raw.HeaderText)!.AsObject();
        var ranges = Ranges(header);
        Assert.True(ranges.Count >= 3);

        var middle = ranges[ranges.Count / 2];
        var withoutMiddle = JsonNode.Parse(raw.HeaderText)!.AsObject();
        withoutMiddle.Remove(middle.Name);
        var ex = Refused(RawSafetensors.Write(PathOf("hole.safetensors"), withoutMiddle.ToJsonString(), raw.Data), "belong to no tensor");
        Assert.Contains($"[{middle.Begin}, {middle.End})", ex.Problem);

        var withoutFirst = JsonNode.Parse(raw.HeaderText)!.AsObject();
        withoutFirst.Remove(ranges[0].Name);
        Refused(RawSafetensors.Write(PathOf("hole-first.safetensors"), withoutFirst.ToJsonString(), raw.Data), $"bytes [0, {ranges[0].End})");

        var withoutLast = JsonNode.Parse(raw.HeaderText)!.AsObject();
        withoutLast.Remove(ranges[^1].Name);
        Refused(RawSafetensors.Write(PathOf("hole-last.safetensors"), withoutLast.ToJsonString(), raw.Data), "trailing bytes");
    }

    [Fact]
    public void A_zero_size_entry_inside_another_tensor_is_refused_but_one_between_tensors_is_accepted()
    {
        var raw = RawSafetensors.Read(FixtureRoot.Combine("clip_text", "model.safetensors"));
        var ranges = Ranges(JsonNode.Parse(raw.HeaderText)!.AsObject());
        var host = ranges.First(r => r.End - r.Begin >= 8);

        var inside = JsonNode.Parse(raw.HeaderText)!.AsObject();
        inside["zz.empty"] = JsonNode.Parse($$"""{"dtype":"F32","shape":[0],"data_offsets":[{{host.Begin + 4}},{{host.Begin + 4}}]}""");
        Refused(RawSafetensors.Write(PathOf("zero-inside.safetensors"), inside.ToJsonString(), raw.Data), "overlap");

        var between = JsonNode.Parse(raw.HeaderText)!.AsObject();
        between["zz.empty"] = JsonNode.Parse($$"""{"dtype":"F32","shape":[3,0],"data_offsets":[{{host.End}},{{host.End}}]}""");
        between["zz.empty2"] = JsonNode.Parse($$"""{"dtype":"I64","shape":[0],"data_offsets":[{{host.End}},{{host.End}}]}""");
        between["zz.end"] = JsonNode.Parse($$"""{"dtype":"U8","shape":[0],"data_offsets":[{{raw.Data.Length}},{{raw.Data.Length}}]}""");
        var path = RawSafetensors.Write(PathOf("zero-between.safetensors"), between.ToJsonString(), raw.Data);
        Accepted(path, ranges.Count + 3);
        using var file = SafetensorsFile.Open(path);
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 3, 0 }, file.Read("zz.empty").shape);
    }

    [Fact]
    public void A_field_given_twice_in_one_entry_is_refused_even_with_the_same_value()
    {
        var data = new byte[8];
        Refused(RawSafetensors.Write(PathOf("dup-dtype.safetensors"),
            """{"a":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}}""", data), "gives the field 'dtype' twice");
        Refused(RawSafetensors.Write(PathOf("dup-shape.safetensors"),
            """{"a":{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}}""", data), "gives the field 'shape' twice");
        Refused(RawSafetensors.Write(PathOf("dup-offsets.safetensors"),
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4],"data_offsets":[0,8]}}""", data), "gives the field 'data_offsets' twice");
    }

    [Fact]
    public void Metadata_given_twice_or_a_duplicate_tensor_name_is_refused()
    {
        var data = new byte[8];
        Refused(RawSafetensors.Write(PathOf("dup-meta.safetensors"),
            """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"x":"y"}}""", data),
            "__metadata__ appears twice");
        Refused(RawSafetensors.Write(PathOf("dup-meta-key.safetensors"),
            """{"__metadata__":{"format":"pt","format":"np"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", data),
            "key 'format' appears twice");
        Refused(RawSafetensors.Write(PathOf("dup-name.safetensors"),
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", data),
            "tensor 'a' appears twice");
        // The same name spelled with an escape is the same name.
        Refused(RawSafetensors.Write(PathOf("dup-escaped.safetensors"),
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\u0061":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}""", data),
            "appears twice");
    }

    [Fact]
    public void Fields_the_crate_ignores_are_ignored_and_header_json_must_be_strict()
    {
        var data = new byte[8];
        Accepted(RawSafetensors.Write(PathOf("extra.safetensors"),
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"note":{"x":[1,2.5,"s",null,true]}}}""", data), 1);
        Refused(RawSafetensors.Write(PathOf("comment.safetensors"), """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}/*c*/}""", data), "not valid JSON");
        Refused(RawSafetensors.Write(PathOf("comma.safetensors"), """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],},}""", data), "not valid JSON");
        Refused(RawSafetensors.Write(PathOf("after.safetensors"), """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x""", data), "not valid JSON");
        Refused(RawSafetensors.Write(PathOf("nul-pad.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}\0\0", data), "not valid JSON");
        Refused(RawSafetensors.Write(PathOf("float-dim.safetensors"), """{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}""", data), "invalid dimension");
        Refused(RawSafetensors.Write(PathOf("exp-offset.safetensors"), """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}}""", data), "invalid data offset");
        Refused(RawSafetensors.Write(PathOf("three-offsets.safetensors"), """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}""", data), "expected [begin, end]");
        Refused(RawSafetensors.Write(PathOf("huge-number.safetensors"), """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1e999}}""", data), "out of range");
        Refused(RawSafetensors.Write(PathOf("no-shape.safetensors"), """{"a":{"dtype":"F32","data_offsets":[0,8]}}""", data), "no shape");
        Refused(RawSafetensors.Write(PathOf("array-entry.safetensors"), """{"a":["F32",[2],[0,8]]}""", data), "not an object");
    }

    // ---- item 3: every bad file gives SafetensorsFormatException naming the file --------------------

    [Fact]
    public void Invalid_utf8_in_names_dtypes_and_metadata_is_refused_naming_the_file()
    {
        var data = new byte[8];
        byte[][] badSequences = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]];
        string[] templates =
        [
            "{\"a@\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"F3@\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            "{\"__metadata__\":{\"k@\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            "{\"__metadata__\":{\"k\":\"v@\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        ];
        int i = 0;
        foreach (var template in templates)
            foreach (var bad in badSequences)
            {
                var parts = template.Split('@');
                byte[] header = [.. Encoding.UTF8.GetBytes(parts[0]), .. bad, .. Encoding.UTF8.GetBytes(parts[1])];
                var path = PathOf($"utf8-{i++}.safetensors");
                File.WriteAllBytes(path, new RawSafetensors(header, data).ToBytes());
                Refused(path, "not valid UTF-8");
            }
    }

    [Fact]
    public void Escaped_lone_surrogates_anywhere_in_the_header_are_refused_naming_the_file()
    {
        var data = new byte[8];
        string[] headers =
        [
            """{"a\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            """{"a\udc00x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            """{"a":{"dtype":"F32\ud83d","shape":[2],"data_offsets":[0,8]}}""",
            """{"__metadata__":{"k\ud800":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            """{"__metadata__":{"k":"\udfff"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"note":"\ud800"}}""",
        ];
        for (int i = 0; i < headers.Length; i++)
            Refused(RawSafetensors.Write(PathOf($"surrogate-{i}.safetensors"), headers[i], data), "lone UTF-16 surrogate");
        // A proper pair is fine.
        Accepted(RawSafetensors.Write(PathOf("pair.safetensors"), """{"a\ud83d\ude00":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", data), 1);
    }

    [Fact]
    public void A_zero_element_shape_whose_strides_overflow_is_refused_on_open_not_in_read()
    {
        const long big = 1L << 62;
        var path = RawSafetensors.Write(PathOf("strides.safetensors"),
            $$$"""{"a":{"dtype":"F32","shape":[0,{{{big}}},{{{big}}}],"data_offsets":[0,0]}}""", []);
        Refused(path, "strides overflow");
        Refused(RawSafetensors.Write(PathOf("dim63.safetensors"),
            """{"a":{"dtype":"U8","shape":[0,9223372036854775808],"data_offsets":[0,0]}}""", []), "2^63 - 1");
        Refused(RawSafetensors.Write(PathOf("size-overflow.safetensors"),
            $$$"""{"a":{"dtype":"F64","shape":[{{{big}}},{{{big}}}],"data_offsets":[0,0]}}""", []), "overflows 64 bits");
        Refused(RawSafetensors.Write(PathOf("dim-u64.safetensors"),
            """{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}}""", []), "invalid dimension");
    }

    [Fact]
    public void Dtypes_the_crate_knows_but_torch_cannot_hold_are_refused_by_name()
    {
        Refused(RawSafetensors.Write(PathOf("u16.safetensors"), """{"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}""", new byte[4]),
            "valid safetensors but not supported");
        Refused(RawSafetensors.Write(PathOf("lower.safetensors"), """{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}""", new byte[8]),
            "unknown dtype 'f32'");
    }

    // ---- item 4: size checks before any allocation ------------------------------------------------

    [Fact]
    public void A_one_TiB_tensor_in_a_sparse_file_is_refused_before_anything_is_allocated()
    {
        const long tebibyte = 1L << 40;
        var header = Encoding.UTF8.GetBytes($$$"""{"huge":{"dtype":"U8","shape":[{{{tebibyte}}}],"data_offsets":[0,{{{tebibyte}}}]}}""");
        var path = PathOf("sparse.safetensors");
        using (var stream = File.Create(path))
        {
            stream.Write(BitConverter.GetBytes((ulong)header.Length));
            stream.Write(header);
            try
            {
                stream.SetLength(8 + header.Length + tebibyte);
            }
            catch (IOException)
            {
                return; // the file system cannot hold a 1 TiB sparse file; nothing to test here
            }
        }
        using var file = SafetensorsFile.Open(path); // valid per the crate: the data section is 1 TiB long
        var before = Environment.WorkingSet;
        var ex = Assert.Throws<SafetensorsFormatException>(() => file.Read("huge"));
        Assert.Contains(path, ex.Message);
        Assert.Contains("more than", ex.Problem);
        Assert.True(Environment.WorkingSet - before < 256L << 20, "nothing near the declared size was allocated");
    }
}
