using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>
/// Issue 11 ("prove it"): a seeded fuzz over every fixture safetensors file. Each mutated file (header
/// length, header bytes, offsets, dtypes, shapes, entries, metadata, appended or cut bytes) is judged by
/// <see cref="CrateRulesOracle"/>, an independent restatement of the reference crate's rules; the reader
/// must then load exactly what the crate accepts (same names, dtypes, shapes, metadata and bytes) or throw
/// <see cref="SafetensorsFormatException"/> naming the file - never another exception type.
/// </summary>
public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20_110_311;
    private const int MutationsPerFile = 140;
    private const int MutationsPerLargeFile = 40; // files over 1 MB: each mutation rewrites and re-reads all of it

    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    private sealed record Source(string Path, byte[] Bytes, List<Entry> Entries, List<KeyValuePair<string, string>> Metadata, int HeaderLength)
    {
        public long DataLength => Bytes.Length - 8 - HeaderLength;

        public ReadOnlySpan<byte> Data => Bytes.AsSpan(8 + HeaderLength);
    }

    private static Source Parse(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, n));
        var entries = new List<Entry>();
        var metadata = new List<KeyValuePair<string, string>>();
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                metadata.AddRange(property.Value.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetString()!)));
                continue;
            }
            var offsets = property.Value.GetProperty("data_offsets");
            entries.Add(new Entry(property.Name, property.Value.GetProperty("dtype").GetString()!,
                property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                offsets[0].GetInt64(), offsets[1].GetInt64()));
        }
        return new Source(path, bytes, entries, metadata, n);
    }

    [Fact]
    public void Every_mutated_fixture_file_loads_exactly_what_the_crate_accepts_or_fails_with_a_SafetensorsFormatException()
    {
        var files = Directory.GetFiles(FixtureRoot.Path, "*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        int loaded = 0, refusedByCrate = 0, refusedByDeviation = 0;
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (var file in files)
        {
            var source = Parse(file);
            var mutations = source.Bytes.Length > 1 << 20 ? MutationsPerLargeFile : MutationsPerFile;
            for (var i = 0; i < mutations; i++)
            {
                var (bytes, kind) = Mutate(source, random);
                kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
                var path = Path.Combine(_folder, $"m{i % 4}.safetensors");
                File.WriteAllBytes(path, bytes);
                var verdict = CrateRulesOracle.Judge(bytes);
                var problem = Check(path, bytes, verdict);
                if (problem is not null) failures.Add($"{Path.GetFileName(file)} #{i} ({kind}): {problem}");
                if (verdict.LibraryMustLoad) loaded++;
                else if (verdict.CrateAccepts) refusedByDeviation++;
                else refusedByCrate++;
            }
        }
        output.WriteLine($"{files.Count} files, {kinds.Values.Sum()} mutations in {clock.Elapsed.TotalSeconds:F1} s: {loaded} loaded, {refusedByCrate} refused by the crate's rules, {refusedByDeviation} by a documented deviation.");
        output.WriteLine(string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures.Take(30)));
        Assert.True(loaded > files.Count * 5, $"only {loaded} mutated files were valid: the fuzz barely exercises loading");
        Assert.True(refusedByCrate > files.Count * 20, $"only {refusedByCrate} mutated files were invalid");
    }

    /// <summary>Null when the reader behaved as the oracle says, else what went wrong.</summary>
    private static string? Check(string path, byte[] bytes, CrateRulesOracle.Verdict verdict)
    {
        SafetensorsFile? file = null;
        try
        {
            file = SafetensorsFile.Open(path);
            if (!verdict.LibraryMustLoad)
                return $"opened, but {(verdict.CrateAccepts ? "a documented deviation applies: " + string.Join("; ", verdict.Deviations) : "the crate rejects it: " + verdict.Rejected)}";
            if (!file.Names.Order(StringComparer.Ordinal).SequenceEqual(verdict.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal)))
                return "the names differ from the crate's";
            if (!file.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal).SequenceEqual(verdict.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)))
                return "the metadata differs from the crate's";
            foreach (var expected in verdict.Tensors)
            {
                var entry = file.Entries[expected.Name];
                if (entry.DType != expected.DType || !entry.Shape.Select(d => (ulong)d).SequenceEqual(expected.Shape)
                    || (ulong)entry.Begin != expected.Begin || (ulong)entry.End != expected.End)
                    return $"entry '{expected.Name}' differs from the crate's";
                using var scope = NewDisposeScope();
                var tensor = file.Read(expected.Name);
                if (!tensor.shape.Select(d => (ulong)d).SequenceEqual(expected.Shape)) return $"'{expected.Name}' read with another shape";
                var want = bytes.AsSpan((int)(verdict.DataStart + (long)expected.Begin), (int)(expected.End - expected.Begin));
                if (!tensor.bytes.SequenceEqual(want)) return $"'{expected.Name}' read other bytes";
            }
            return null;
        }
        catch (SafetensorsFormatException e)
        {
            if (verdict.LibraryMustLoad) return $"refused a file the crate accepts: {e.Problem}";
            return e.Message.Contains(path, StringComparison.Ordinal) ? null : "the exception does not name the file";
        }
        catch (Exception e)
        {
            return $"threw {e.GetType().Name}: {e.Message}";
        }
        finally
        {
            file?.Dispose();
        }
    }

    // ---- the mutations ---------------------------------------------------------------------------

    private static (byte[] Bytes, string Kind) Mutate(Source s, Random r)
    {
        switch (r.Next(10))
        {
            case 0: return (HeaderLength(s, r), "header length");
            case 1: return (HeaderBytes(s, r), "header bytes");
            case 2: return (TailBytes(s, r), "appended/cut bytes");
            case 3: return Rebuild(s, r, Offsets, "offsets");
            case 4: return Rebuild(s, r, DTypes, "dtypes");
            case 5: return Rebuild(s, r, Shapes, "shapes");
            case 6: return Rebuild(s, r, EntriesAndNames, "entries");
            case 7: return Rebuild(s, r, (_, _, _) => { }, "re-serialised");
            default: return RebuildText(s, r);
        }
    }

    private static byte[] WithLength(Source s, ulong length)
    {
        var copy = (byte[])s.Bytes.Clone();
        BitConverter.GetBytes(length).CopyTo(copy, 0);
        return copy;
    }

    private static byte[] HeaderLength(Source s, Random r)
    {
        ulong n = (ulong)s.HeaderLength;
        ulong[] special = [0, 1, 2, 7, 8, 100_000_000, 100_000_001, (ulong)s.Bytes.Length - 8, (ulong)s.Bytes.Length - 7, ulong.MaxValue, 1UL << 40];
        return r.Next(3) switch
        {
            0 => WithLength(s, n - (ulong)r.Next(1, 17)),
            1 => WithLength(s, n + (ulong)r.Next(1, 17)),
            _ => WithLength(s, special[r.Next(special.Length)]),
        };
    }

    private static byte[] HeaderBytes(Source s, Random r)
    {
        var header = s.Bytes.AsSpan(8, s.HeaderLength).ToArray().ToList();
        var data = s.Data.ToArray();
        int at = r.Next(header.Count);
        bool keepLength = r.Next(2) == 0;
        switch (r.Next(4))
        {
            case 0: header[at] = (byte)r.Next(256); keepLength = true; break;
            case 1: header[at] ^= (byte)(1 << r.Next(8)); keepLength = true; break;
            case 2: header.InsertRange(at, Enumerable.Range(0, r.Next(1, 4)).Select(_ => (byte)r.Next(256))); break;
            default: header.RemoveRange(at, Math.Min(r.Next(1, 4), header.Count - at)); break;
        }
        var declared = keepLength ? (ulong)header.Count : (ulong)s.HeaderLength;
        return [.. BitConverter.GetBytes(declared), .. header, .. data];
    }

    private static byte[] TailBytes(Source s, Random r)
    {
        int k = r.Next(1, 17);
        return r.Next(2) == 0
            ? [.. s.Bytes, .. Enumerable.Range(0, k).Select(_ => (byte)r.Next(256))]
            : s.Bytes[..Math.Max(0, s.Bytes.Length - k)];
    }

    // A header rebuilt from entries: mutable JSON-ish parts so that mutations can produce any text.
    private sealed class Part
    {
        public required string Name { get; set; }
        public string DTypeJson { get; set; } = "";
        public string ShapeJson { get; set; } = "";
        public string OffsetsJson { get; set; } = "";
        public List<string> ExtraFields { get; } = [];
        public string? RawEntry { get; set; }
    }

    private sealed class Header
    {
        public List<Part> Parts { get; } = [];
        public List<string> MetadataJson { get; } = []; // each a full value: {"k":"v"}, null, ...
        public byte[] Data { get; set; } = [];
        public string Prefix { get; set; } = "";
        public string Suffix { get; set; } = "";
        public bool Pad { get; set; } = true;
    }

    private static string Json(string text) => JsonSerializer.Serialize(text);

    private static string ShapeText(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    private static Header Start(Source s, Random r)
    {
        var header = new Header { Data = s.Data.ToArray(), Pad = r.Next(4) != 0 };
        if (s.Metadata.Count > 0 || r.Next(3) == 0)
            header.MetadataJson.Add("{" + string.Join(",", s.Metadata.Select(p => $"{Json(p.Key)}:{Json(p.Value)}")) + "}");
        foreach (var e in s.Entries)
            header.Parts.Add(new Part
            {
                Name = e.Name, DTypeJson = Json(e.DType), ShapeJson = ShapeText(e.Shape), OffsetsJson = $"[{e.Begin},{e.End}]",
            });
        if (r.Next(3) == 0) Shuffle(header.Parts, r);
        return header;
    }

    private static void Shuffle<T>(List<T> items, Random r)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = r.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static byte[] Emit(Header h)
    {
        var text = new StringBuilder(h.Prefix).Append('{');
        var members = new List<string>();
        foreach (var meta in h.MetadataJson) members.Add($"\"__metadata__\":{meta}");
        foreach (var p in h.Parts)
        {
            var body = p.RawEntry ?? "{" + string.Join(",", new[] { $"\"dtype\":{p.DTypeJson}", $"\"shape\":{p.ShapeJson}", $"\"data_offsets\":{p.OffsetsJson}" }.Concat(p.ExtraFields)) + "}";
            members.Add($"{(p.Name.StartsWith('"') ? p.Name : Json(p.Name))}:{body}");
        }
        text.Append(string.Join(",", members)).Append('}').Append(h.Suffix);
        var header = Encoding.UTF8.GetBytes(text.ToString());
        if (h.Pad && header.Length % 8 != 0) header = [.. header, .. Enumerable.Repeat((byte)' ', 8 - header.Length % 8)];
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. h.Data];
    }

    private static (byte[], string) Rebuild(Source s, Random r, Action<Header, Source, Random> mutate, string kind)
    {
        var header = Start(s, r);
        mutate(header, s, r);
        return (Emit(header), kind);
    }

    private static Part Pick(Header h, Random r) => h.Parts[r.Next(h.Parts.Count)];

    private static (long Begin, long End) OffsetsOf(Part p)
    {
        using var d = JsonDocument.Parse(p.OffsetsJson);
        return (d.RootElement[0].GetInt64(), d.RootElement[1].GetInt64());
    }

    private static void Offsets(Header h, Source s, Random r)
    {
        if (h.Parts.Count == 0) return;
        var p = Pick(h, r);
        var (begin, end) = OffsetsOf(p);
        long[] deltas = [-8, -4, -2, -1, 1, 2, 4, 8];
        switch (r.Next(6))
        {
            case 0: p.OffsetsJson = $"[{begin + deltas[r.Next(deltas.Length)]},{end}]"; break;
            case 1: p.OffsetsJson = $"[{begin},{end + deltas[r.Next(deltas.Length)]}]"; break;
            case 2:
                var d = deltas[r.Next(deltas.Length)];
                p.OffsetsJson = $"[{begin + d},{end + d}]";
                break;
            case 3:
                var q = Pick(h, r);
                (p.OffsetsJson, q.OffsetsJson) = (q.OffsetsJson, p.OffsetsJson);
                break;
            case 4:
                string[] odd = ["18446744073709551615", "18446744073709551616", "9223372036854775807", "-1", "0.0", "1e2", "\"0\"", "null", "-0"];
                p.OffsetsJson = r.Next(2) == 0 ? $"[{odd[r.Next(odd.Length)]},{end}]" : $"[{begin},{odd[r.Next(odd.Length)]}]";
                break;
            default:
                string[] shapes = [$"[{begin}]", $"[{begin},{end},{end}]", "[]", $"{{\"0\":{begin}}}", $"[{end},{begin}]"];
                p.OffsetsJson = shapes[r.Next(shapes.Length)];
                break;
        }
    }

    private static void DTypes(Header h, Source s, Random r)
    {
        if (h.Parts.Count == 0) return;
        string[] names = ["F32", "I32", "U32", "F16", "BF16", "I16", "U16", "U8", "I8", "BOOL", "F64", "I64", "U64", "F8_E4M3", "F8_E5M2",
            "f32", "X9", "", "F32 ", "float32", "PackedI4"];
        var p = Pick(h, r);
        p.DTypeJson = r.Next(8) switch
        {
            0 => "{" + Json(names[r.Next(names.Length)]) + ":null}",
            1 => new[] { "32", "null", "[\"F32\"]", "true" }[r.Next(4)],
            _ => Json(names[r.Next(names.Length)]),
        };
    }

    private static void Shapes(Header h, Source s, Random r)
    {
        if (h.Parts.Count == 0) return;
        var p = Pick(h, r);
        using var d = JsonDocument.Parse(p.ShapeJson);
        var dims = d.RootElement.EnumerateArray().Select(x => x.GetInt64()).ToList();
        var product = dims.Aggregate(1L, (a, b) => a * b);
        switch (r.Next(7))
        {
            case 0 when dims.Count > 0: dims[r.Next(dims.Count)] += r.Next(2) == 0 ? 1 : -1; p.ShapeJson = ShapeText(dims); break;
            case 1: dims.Insert(r.Next(dims.Count + 1), 1); p.ShapeJson = ShapeText(dims); break; // same product: valid
            case 2 when dims.Count > 0: dims.RemoveAt(r.Next(dims.Count)); p.ShapeJson = ShapeText(dims); break;
            case 3: p.ShapeJson = ShapeText(product == 1 ? [] : [product]); break; // flattened: valid
            case 4:
                string[] huge = ["4611686018427387904", "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616", "2147483648", "0"];
                var parts = dims.Select(x => x.ToString(CultureInfo.InvariantCulture)).ToList();
                parts.Insert(r.Next(parts.Count + 1), huge[r.Next(huge.Length)]);
                if (r.Next(2) == 0) parts.Insert(0, "0");
                p.ShapeJson = "[" + string.Join(",", parts) + "]";
                break;
            case 5:
                string[] odd = ["[-1]", "[1.0]", "[\"1\"]", "[null]", "null", "{}", "[1e0]", "[-0]", "[01]"];
                p.ShapeJson = odd[r.Next(odd.Length)];
                break;
            default:
                // A zero-element tensor whose later dimensions overflow the strides.
                p.ShapeJson = "[0,4611686018427387904,4611686018427387904]";
                var (begin, _) = OffsetsOf(p);
                p.OffsetsJson = $"[{begin},{begin}]";
                break;
        }
    }

    private static void EntriesAndNames(Header h, Source s, Random r)
    {
        switch (r.Next(14))
        {
            case 0 when h.Parts.Count > 0: h.Parts.RemoveAt(r.Next(h.Parts.Count)); break; // a hole
            case 1 when h.Parts.Count > 0:
                var (_, end) = OffsetsOf(Pick(h, r));
                h.Parts.Add(new Part { Name = "zz.zero", DTypeJson = "\"F32\"", ShapeJson = r.Next(2) == 0 ? "[0]" : "[3,0]", OffsetsJson = $"[{end},{end}]" });
                break;
            case 2 when h.Parts.Count > 0:
                var (b, e) = OffsetsOf(Pick(h, r));
                var inside = b + (e - b) / 2;
                h.Parts.Add(new Part { Name = "zz.inside", DTypeJson = "\"F32\"", ShapeJson = "[0]", OffsetsJson = $"[{inside},{inside}]" });
                break;
            case 3 when h.Parts.Count > 0:
                var twin = Pick(h, r);
                h.Parts.Add(new Part { Name = twin.Name, DTypeJson = twin.DTypeJson, ShapeJson = twin.ShapeJson, OffsetsJson = twin.OffsetsJson });
                break;
            case 4: h.MetadataJson.Add(r.Next(2) == 0 ? "{\"format\":\"pt\"}" : "null"); h.MetadataJson.Add("{\"x\":\"y\"}"); break;
            case 5: h.MetadataJson.Clear(); h.MetadataJson.Add(new[] { "null", "{\"a\":\"1\",\"a\":\"2\"}", "{\"a\":1}", "[]", "\"pt\"", "{}" }[r.Next(6)]); break;
            case 6 when h.Parts.Count > 0: Pick(h, r).ExtraFields.Add(new[] { "\"note\":1", "\"note\":{\"a\":[1,2.5,null,\"s\",{\"a\":1,\"a\":2}]}", "\"x\":1e999", "\"x\":\"\\ud800\"", "\"x\":-0" }[r.Next(5)]); break;
            case 7 when h.Parts.Count > 0:
                var twice = Pick(h, r);
                twice.ExtraFields.Add(new[] { "\"dtype\":" + twice.DTypeJson, "\"shape\":" + twice.ShapeJson, "\"note\":1,\"note\":2" }[r.Next(3)]);
                break;
            case 8 when h.Parts.Count > 0:
                var array = Pick(h, r);
                array.RawEntry = $"[{array.DTypeJson},{array.ShapeJson},{array.OffsetsJson}]";
                break;
            case 9 when h.Parts.Count > 0:
                var named = Pick(h, r);
                named.Name = new[]
                {
                    "\"" + named.Name.Replace("a", "\\u0061", StringComparison.Ordinal) + "\"",
                    "\"x\\ud800\"", "\"x\\udc00y\"", "\"x\\ud83d\\ude00\"", "\"tab\\there\"", "\"raw\ttab\"", "\"\"", "\"é🙂\"",
                }[r.Next(8)];
                break;
            case 10 when h.Parts.Count > 0:
                var depth = new[] { 120, 125, 126, 127, 200 }[r.Next(5)];
                Pick(h, r).ExtraFields.Add("\"deep\":" + new string('[', depth) + new string(']', depth));
                break;
            case 11:
                // New bytes appended and a tensor that covers them: valid.
                var extra = Enumerable.Range(0, 8).Select(_ => (byte)r.Next(256)).ToArray();
                var at = h.Data.Length;
                h.Data = [.. h.Data, .. extra];
                h.Parts.Add(new Part { Name = "zz.appended", DTypeJson = "\"I64\"", ShapeJson = "[1]", OffsetsJson = $"[{at},{at + 8}]" });
                break;
            case 12: h.Parts.Clear(); if (r.Next(2) == 0) h.Data = []; break;
            default:
                if (h.Parts.Count > 1)
                {
                    // Two neighbours exchange places in the data section with their offsets: valid.
                    var ordered = h.Parts.OrderBy(p => OffsetsOf(p).Begin).ToList();
                    var i = r.Next(ordered.Count - 1);
                    var (b1, e1) = OffsetsOf(ordered[i]);
                    var (b2, e2) = OffsetsOf(ordered[i + 1]);
                    if (e1 == b2)
                    {
                        var data = (byte[])h.Data.Clone();
                        var first = h.Data.AsSpan((int)b1, (int)(e1 - b1)).ToArray();
                        var second = h.Data.AsSpan((int)b2, (int)(e2 - b2)).ToArray();
                        second.CopyTo(data, (int)b1);
                        first.CopyTo(data, (int)(b1 + second.Length));
                        h.Data = data;
                        ordered[i + 1].OffsetsJson = $"[{b1},{b1 + second.Length}]";
                        ordered[i].OffsetsJson = $"[{b1 + second.Length},{e2}]";
                    }
                }
                break;
        }
    }

    private static (byte[], string) RebuildText(Source s, Random r)
    {
        var header = Start(s, r);
        switch (r.Next(9))
        {
            case 0: header.Prefix = "\uFEFF"; break;
            case 1: header.Prefix = " \t\r\n"; break;
            case 2: header.Suffix = " \t\r\n"; header.Pad = false; break;
            case 3: header.Suffix = "\0\0\0"; break;
            case 4: header.Suffix = "x"; break;
            case 5: header.Suffix = "/* c */"; break;
            case 6: header.Suffix = "{}"; break;
            case 7 when header.Parts.Count > 0: Pick(header, r).ExtraFields.Add("\"trailing\":1,"); break;
            default: header.Prefix = "\u00a0"; break;
        }
        return (Emit(header), "header text");
    }
}
