using System.Text.Json;
using TailorPO.Diffusion.Tokenization;
using TailorPO.TestUtilities;

namespace TailorPO.Diffusion.Tests.Tokenization;

/// <summary>One prompt of <c>tokenizer/cases.json</c> with the fields the tokenizer must reproduce.</summary>
public sealed record TokenizerCase(
    int Index, string Prompt, string Note, long[] InputIds, int[] BpeIds, string[] BpeTokens, int NumBpeTokens,
    bool Truncated, long[] AttentionMask, long[] OpenAiClipTokenizeIds);

/// <summary>
/// The tokenizer fixture (<c>tokenizer/</c> under the fixture root): its cases are read from
/// <c>cases.json</c>, never hard-coded, so the tests run on any folder of the same format.
/// </summary>
public static class TokenizerFixture
{
    private static readonly Lazy<(JsonDocument Document, IReadOnlyList<TokenizerCase> Cases)> Loaded = new(Load);
    private static readonly Lazy<ClipTokenizer> Shared = new(() => ClipTokenizer.FromFolder(Folder));

    /// <summary>The fixture's tokenizer folder.</summary>
    public static string Folder => FixtureRoot.Combine("tokenizer");

    /// <summary>A tokenizer loaded once from <see cref="Folder"/> (it is thread-safe).</summary>
    public static ClipTokenizer Tokenizer => Shared.Value;

    /// <summary>Every case of cases.json, in file order.</summary>
    public static IReadOnlyList<TokenizerCase> Cases => Loaded.Value.Cases;

    /// <summary>A top-level integer field of cases.json (e.g. <c>context_length</c>).</summary>
    public static int TopLevelInt(string name) => Loaded.Value.Document.RootElement.GetProperty(name).GetInt32();

    /// <summary>xunit data: one row per case (index and note).</summary>
    public static IEnumerable<object[]> CaseRows() => Cases.Select(c => new object[] { c.Index, c.Note });

    private static (JsonDocument, IReadOnlyList<TokenizerCase>) Load()
    {
        var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json")));
        var cases = document.RootElement.GetProperty("cases").EnumerateArray().Select((c, i) => new TokenizerCase(
            i,
            c.GetProperty("prompt").GetString()!,
            c.GetProperty("note").GetString()!,
            Longs(c, "input_ids"),
            Longs(c, "bpe_ids").Select(v => checked((int)v)).ToArray(),
            c.GetProperty("bpe_tokens").EnumerateArray().Select(e => e.GetString()!).ToArray(),
            c.GetProperty("num_bpe_tokens").GetInt32(),
            c.GetProperty("truncated").GetBoolean(),
            Longs(c, "attention_mask"),
            Longs(c, "openai_clip_tokenize_ids"))).ToList();
        return (document, cases);
    }

    private static long[] Longs(JsonElement element, string name) =>
        element.GetProperty(name).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>Row <paramref name="row"/> of a [batch, length] array.</summary>
    public static long[] Row(long[,] values, int row) =>
        Enumerable.Range(0, values.GetLength(1)).Select(k => values[row, k]).ToArray();
}
