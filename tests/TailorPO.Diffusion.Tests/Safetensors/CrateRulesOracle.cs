using System.Globalization;
using System.Text;

namespace TailorPO.Diffusion.Tests;

/// <summary>
/// An independent restatement of what the reference Rust crate (huggingface/safetensors,
/// <c>SafeTensors::read_metadata</c> + serde_json + <c>Metadata::validate</c>) accepts, written for the
/// fuzz test without any of the library's code: its own strict UTF-8 check, its own JSON parser with
/// serde_json's rules (white space, escapes, surrogates, number kinds and ranges, 128-level recursion
/// limit), serde's struct semantics (duplicate fields refused, unknown fields ignored, a struct also
/// accepted from a 3-element array, a unit enum variant also accepted as <c>{"F32": null}</c>, maps keeping
/// the last of a duplicated key), then the byte-range rules. Besides the verdict it reports the documented
/// places where the library is deliberately stricter (see <c>SafetensorsHeader</c>).
/// </summary>
internal static class CrateRulesOracle
{
    /// <summary>Every dtype name the crate's enum knows (recent versions).</summary>
    public static readonly Dictionary<string, int> CrateDTypeBits = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 8, ["U8"] = 8, ["I8"] = 8, ["F8_E5M2"] = 8, ["F8_E4M3"] = 8, ["F8_E8M0"] = 8,
        ["I16"] = 16, ["U16"] = 16, ["F16"] = 16, ["BF16"] = 16, ["I32"] = 32, ["U32"] = 32,
        ["F32"] = 32, ["F64"] = 64, ["I64"] = 64, ["U64"] = 64, ["C64"] = 64,
    };

    /// <summary>The dtypes the library holds in torch tensors.</summary>
    public static readonly HashSet<string> LibraryDTypes = new(StringComparer.Ordinal) { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" };

    public sealed record Tensor(string Name, string DType, ulong[] Shape, ulong Begin, ulong End);

    /// <summary>The verdict: Rejected (with the crate's reason) or accepted, with the deviations that make the library refuse it anyway.</summary>
    public sealed record Verdict(string? Rejected, IReadOnlyList<Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata,
        long DataStart, IReadOnlyList<string> Deviations)
    {
        public bool CrateAccepts => Rejected is null;

        public bool LibraryMustLoad => Rejected is null && Deviations.Count == 0;
    }

    private static Verdict Reject(string why) => new(why, [], new Dictionary<string, string>(), 0, []);

    public static Verdict Judge(byte[] file)
    {
        if (file.Length < 8) return Reject("HeaderTooSmall");
        ulong n = BitConverter.ToUInt64(file, 0);
        if (n > 100_000_000) return Reject("HeaderTooLarge");
        if (n + 8 > (ulong)file.Length) return Reject("InvalidHeaderLength");
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(file, 8, (int)n);
        }
        catch (DecoderFallbackException)
        {
            return Reject("InvalidHeader (UTF-8)");
        }

        Node root;
        try
        {
            var parser = new Parser(text);
            root = parser.ParseDocument();
        }
        catch (FormatException e)
        {
            return Reject("InvalidHeaderDeserialization: " + e.Message);
        }
        if (root is not ObjectNode rootObject) return Reject("InvalidHeaderDeserialization: root is not a map");

        var deviations = new List<string>();
        Dictionary<string, string>? metadata = null;
        bool metadataSeen = false;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in rootObject.Members)
        {
            if (key == "__metadata__")
            {
                if (metadataSeen) return Reject("duplicate field __metadata__");
                metadataSeen = true;
                if (value is NullNode) continue;
                if (value is not ObjectNode metaObject) return Reject("__metadata__ not a map");
                metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (metaKey, metaValue) in metaObject.Members)
                {
                    if (metaValue is not StringNode s) return Reject("__metadata__ value not a string");
                    if (metadata.ContainsKey(metaKey)) deviations.Add("duplicate __metadata__ key (the crate keeps the last)");
                    metadata[metaKey] = s.Value;
                }
                continue;
            }
            var info = TensorInfo(key, value, deviations, out var why);
            if (info is null) return Reject(why!);
            if (tensors.ContainsKey(key)) deviations.Add("duplicate tensor name (the crate keeps the last)");
            tensors[key] = info;
        }

        // Metadata::validate on the entries sorted by (begin, end).
        var sorted = tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        ulong start = 0;
        foreach (var t in sorted)
        {
            if (t.Begin != start || t.End < t.Begin) return Reject($"InvalidOffset({t.Name})");
            start = t.End;
            ulong elements = 1;
            try
            {
                foreach (var d in t.Shape) elements = checked(elements * d);
                var bytes = checked(elements * (ulong)(CrateDTypeBits[t.DType] / 8));
                if (t.End - t.Begin != bytes) return Reject("TensorInvalidInfo");
            }
            catch (OverflowException)
            {
                return Reject("ValidationOverflow");
            }
        }
        if (start + 8 + n != (ulong)file.Length) return Reject("MetadataIncompleteBuffer");

        foreach (var t in sorted)
        {
            if (!LibraryDTypes.Contains(t.DType)) deviations.Add($"dtype {t.DType} has no torch type here");
            if (t.Shape.Any(d => d > long.MaxValue)) deviations.Add("a dimension above 2^63 - 1");
            else
            {
                try
                {
                    long product = 1;
                    foreach (var d in t.Shape) product = checked(product * Math.Max(1L, (long)d));
                }
                catch (OverflowException)
                {
                    deviations.Add("strides overflow int64");
                }
            }
        }
        return new Verdict(null, sorted, metadata ?? new Dictionary<string, string>(), 8 + (long)n, deviations);
    }

    private static Tensor? TensorInfo(string name, Node value, List<string> deviations, out string? why)
    {
        why = null;
        Node? dtype = null, shape = null, offsets = null;
        if (value is ArrayNode sequence)
        {
            // serde's derived struct visitor also takes a sequence of exactly its three fields.
            if (sequence.Items.Count != 3) { why = "TensorInfo sequence of wrong length"; return null; }
            (dtype, shape, offsets) = (sequence.Items[0], sequence.Items[1], sequence.Items[2]);
            deviations.Add("entry written as an array");
        }
        else if (value is ObjectNode entry)
        {
            var seenUnknown = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (field, fieldValue) in entry.Members)
            {
                switch (field)
                {
                    case "dtype":
                        if (dtype is not null) { why = "duplicate field dtype"; return null; }
                        dtype = fieldValue;
                        break;
                    case "shape":
                        if (shape is not null) { why = "duplicate field shape"; return null; }
                        shape = fieldValue;
                        break;
                    case "data_offsets":
                        if (offsets is not null) { why = "duplicate field data_offsets"; return null; }
                        offsets = fieldValue;
                        break;
                    default:
                        if (!seenUnknown.Add(field)) deviations.Add("an ignored field given twice");
                        break;
                }
            }
            if (dtype is null || shape is null || offsets is null) { why = "missing field"; return null; }
        }
        else
        {
            why = "TensorInfo is not a map";
            return null;
        }

        string dtypeName;
        if (dtype is StringNode s) dtypeName = s.Value;
        else if (dtype is ObjectNode { Members.Count: 1 } variant && variant.Members[0].Value is NullNode)
        {
            dtypeName = variant.Members[0].Key;
            deviations.Add("dtype written as a map");
        }
        else { why = "dtype not a string"; return null; }
        if (!CrateDTypeBits.ContainsKey(dtypeName)) { why = $"unknown variant {dtypeName}"; return null; }

        if (shape is not ArrayNode shapeArray) { why = "shape not a sequence"; return null; }
        var dims = new List<ulong>();
        foreach (var item in shapeArray.Items)
        {
            if (item is not NumberNode { Kind: NumberKind.Unsigned } dim) { why = "shape entry not a usize"; return null; }
            dims.Add(dim.Unsigned);
        }
        if (offsets is not ArrayNode offsetArray || offsetArray.Items.Count != 2) { why = "data_offsets not a pair"; return null; }
        if (offsetArray.Items[0] is not NumberNode { Kind: NumberKind.Unsigned } begin
            || offsetArray.Items[1] is not NumberNode { Kind: NumberKind.Unsigned } end) { why = "offset not a usize"; return null; }
        return new Tensor(name, dtypeName, [.. dims], begin.Unsigned, end.Unsigned);
    }

    // ---- a small JSON parser with serde_json's rules -----------------------------------------------

    private abstract record Node;

    private sealed record NullNode : Node;

    private sealed record BoolNode(bool Value) : Node;

    private sealed record StringNode(string Value) : Node;

    private enum NumberKind { Unsigned, Negative, Float }

    private sealed record NumberNode(NumberKind Kind, ulong Unsigned) : Node;

    private sealed record ArrayNode(List<Node> Items) : Node;

    private sealed record ObjectNode(List<(string Key, Node Value)> Members) : Node;

    private sealed class Parser(string text)
    {
        private int _at;
        private int _depth;

        public Node ParseDocument()
        {
            SkipWhiteSpace();
            var value = ParseValue();
            SkipWhiteSpace();
            if (_at != text.Length) throw new FormatException($"trailing characters at {_at}");
            return value;
        }

        private void SkipWhiteSpace()
        {
            while (_at < text.Length && text[_at] is ' ' or '\t' or '\n' or '\r') _at++;
        }

        private char Peek() => _at < text.Length ? text[_at] : throw new FormatException("EOF while parsing");

        private void Expect(string literal)
        {
            if (string.CompareOrdinal(text, _at, literal, 0, literal.Length) != 0) throw new FormatException($"expected {literal} at {_at}");
            _at += literal.Length;
        }

        private Node ParseValue()
        {
            switch (Peek())
            {
                case '{': return Nested(ParseObject);
                case '[': return Nested(ParseArray);
                case '"': return new StringNode(ParseString());
                case 't': Expect("true"); return new BoolNode(true);
                case 'f': Expect("false"); return new BoolNode(false);
                case 'n': Expect("null"); return new NullNode();
                default: return ParseNumber();
            }
        }

        private Node Nested(Func<Node> parse)
        {
            if (++_depth >= 128) throw new FormatException("recursion limit exceeded");
            var node = parse();
            _depth--;
            return node;
        }

        private Node ParseObject()
        {
            _at++;
            var members = new List<(string, Node)>();
            SkipWhiteSpace();
            if (Peek() == '}') { _at++; return new ObjectNode(members); }
            while (true)
            {
                SkipWhiteSpace();
                if (Peek() != '"') throw new FormatException($"key must be a string at {_at}");
                var key = ParseString();
                SkipWhiteSpace();
                Expect(":");
                SkipWhiteSpace();
                members.Add((key, ParseValue()));
                SkipWhiteSpace();
                var c = Peek();
                _at++;
                if (c == '}') return new ObjectNode(members);
                if (c != ',') throw new FormatException($"expected , or }} at {_at - 1}");
            }
        }

        private Node ParseArray()
        {
            _at++;
            var items = new List<Node>();
            SkipWhiteSpace();
            if (Peek() == ']') { _at++; return new ArrayNode(items); }
            while (true)
            {
                SkipWhiteSpace();
                items.Add(ParseValue());
                SkipWhiteSpace();
                var c = Peek();
                _at++;
                if (c == ']') return new ArrayNode(items);
                if (c != ',') throw new FormatException($"expected , or ] at {_at - 1}");
            }
        }

        private string ParseString()
        {
            _at++;
            var builder = new StringBuilder();
            while (true)
            {
                var c = Peek();
                _at++;
                if (c == '"') return builder.ToString();
                if (c < 0x20) throw new FormatException("control character in string");
                if (c != '\\')
                {
                    builder.Append(c);
                    continue;
                }
                var e = Peek();
                _at++;
                switch (e)
                {
                    case '"': builder.Append('"'); break;
                    case '\\': builder.Append('\\'); break;
                    case '/': builder.Append('/'); break;
                    case 'b': builder.Append('\b'); break;
                    case 'f': builder.Append('\f'); break;
                    case 'n': builder.Append('\n'); break;
                    case 'r': builder.Append('\r'); break;
                    case 't': builder.Append('\t'); break;
                    case 'u':
                        var unit = Hex4();
                        if (unit is >= 0xDC00 and <= 0xDFFF) throw new FormatException("lone trailing surrogate");
                        if (unit is >= 0xD800 and <= 0xDBFF)
                        {
                            if (_at + 1 >= text.Length || text[_at] != '\\' || text[_at + 1] != 'u') throw new FormatException("lone leading surrogate");
                            _at += 2;
                            var low = Hex4();
                            if (low is < 0xDC00 or > 0xDFFF) throw new FormatException("lone leading surrogate");
                            builder.Append((char)unit).Append((char)low);
                        }
                        else
                        {
                            builder.Append((char)unit);
                        }
                        break;
                    default: throw new FormatException("invalid escape");
                }
            }
        }

        private int Hex4()
        {
            if (_at + 4 > text.Length) throw new FormatException("EOF in escape");
            if (!int.TryParse(text.AsSpan(_at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
                throw new FormatException("invalid hex escape");
            _at += 4;
            return value;
        }

        private Node ParseNumber()
        {
            int start = _at;
            bool negative = false;
            if (Peek() == '-') { negative = true; _at++; }
            if (_at >= text.Length || !char.IsAsciiDigit(text[_at])) throw new FormatException($"expected value at {start}");
            if (text[_at] == '0') _at++;
            else while (_at < text.Length && char.IsAsciiDigit(text[_at])) _at++;
            bool integer = true;
            if (_at < text.Length && text[_at] == '.')
            {
                integer = false;
                _at++;
                if (_at >= text.Length || !char.IsAsciiDigit(text[_at])) throw new FormatException("invalid number");
                while (_at < text.Length && char.IsAsciiDigit(text[_at])) _at++;
            }
            if (_at < text.Length && text[_at] is 'e' or 'E')
            {
                integer = false;
                _at++;
                if (_at < text.Length && text[_at] is '+' or '-') _at++;
                if (_at >= text.Length || !char.IsAsciiDigit(text[_at])) throw new FormatException("invalid number");
                while (_at < text.Length && char.IsAsciiDigit(text[_at])) _at++;
            }
            var literal = text[start.._at];
            if (integer && !negative && ulong.TryParse(literal, NumberStyles.None, CultureInfo.InvariantCulture, out var unsigned))
                return new NumberNode(NumberKind.Unsigned, unsigned);
            if (integer && negative && long.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var signed) && signed < 0)
                return new NumberNode(NumberKind.Negative, 0);
            // Everything else is an f64 to serde_json ("-0" included); out of range is an error.
            var number = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(number)) throw new FormatException("number out of range");
            return new NumberNode(NumberKind.Float, 0);
        }
    }
}
