using System.Diagnostics;
using System.Text;
using System.Text.Json;
using TailorPO.Diffusion.Tokenization;

namespace TailorPO.Diffusion.Tests.Tokenization;

/// <summary>
/// Issue 11, item 9: tokenizer files with invalid UTF-8, lone surrogates or duplicate keys fail with
/// <see cref="TokenizerFileException"/> naming the file (merges.txt no longer turns bad bytes into
/// U+FFFD); a long prompt is not BPE-encoded past the row, and a huge single word is encoded quickly
/// with exactly openai/CLIP's merge semantics.
/// </summary>
public sealed class TokenizerHardeningTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("tailorpo-tok-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static readonly string[] Files = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>A copy of the fixture folder with one file's bytes replaced; returns (folder, that file).</summary>
    private (string Folder, string File) CopyWith(string file, Func<byte[], byte[]> edit)
    {
        var folder = Path.Combine(_scratch, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        foreach (var name in Files)
            File.Copy(Path.Combine(TokenizerFixture.Folder, name), Path.Combine(folder, name));
        var path = Path.Combine(folder, file);
        File.WriteAllBytes(path, edit(File.ReadAllBytes(path)));
        return (folder, path);
    }

    /// <summary>The bytes with <paramref name="inserted"/> placed inside the first JSON string value (after its opening quote).</summary>
    private static byte[] IntoFirstStringValue(byte[] bytes, byte[] inserted)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var colon = text.IndexOf(':');
        var quote = text.IndexOf('"', colon);
        Assert.True(colon > 0 && quote > colon, "the file holds a string value");
        var at = Encoding.UTF8.GetByteCount(text[..(quote + 1)]);
        return [.. bytes[..at], .. inserted, .. bytes[at..]];
    }

    /// <summary>The bytes with <paramref name="inserted"/> placed inside the first JSON key (after its opening quote).</summary>
    private static byte[] IntoFirstKey(byte[] bytes, byte[] inserted)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var at = Encoding.UTF8.GetByteCount(text[..(text.IndexOf('"') + 1)]);
        return [.. bytes[..at], .. inserted, .. bytes[at..]];
    }

    public static TheoryData<string, string> JsonFilesAndDamage()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in new[] { "vocab.json", "special_tokens_map.json", "tokenizer_config.json" })
            foreach (var damage in new[] { "invalid UTF-8 in a key", "invalid UTF-8 in a value", "lone surrogate in a key", "lone surrogate in a value" })
                data.Add(file, damage);
        return data;
    }

    [Theory]
    [MemberData(nameof(JsonFilesAndDamage))]
    public void Bad_text_in_a_json_file_is_a_TokenizerFileException_naming_the_file(string file, string damage)
    {
        byte[] invalid = [0xC3, 0x28], surrogate = Encoding.ASCII.GetBytes("\\udc80");
        var (folder, path) = CopyWith(file, bytes => damage switch
        {
            "invalid UTF-8 in a key" => IntoFirstKey(bytes, invalid),
            "invalid UTF-8 in a value" => IntoFirstStringValue(bytes, invalid),
            "lone surrogate in a key" => IntoFirstKey(bytes, surrogate),
            _ => IntoFirstStringValue(bytes, surrogate),
        });
        var error = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.Equal(path, error.FilePath);
        Assert.Contains(path, error.Message);
        Assert.Contains(damage.StartsWith("invalid", StringComparison.Ordinal) ? "not valid UTF-8" : "lone UTF-16 surrogate", error.Problem);
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("special_tokens_map.json")]
    [InlineData("tokenizer_config.json")]
    public void A_duplicated_key_in_a_json_file_is_refused_naming_file_and_key(string file)
    {
        string? key = null;
        var (folder, path) = CopyWith(file, bytes =>
        {
            var text = Encoding.UTF8.GetString(bytes);
            using var document = JsonDocument.Parse(text);
            var first = document.RootElement.EnumerateObject().First();
            key = first.Name;
            var brace = text.IndexOf('{');
            return Encoding.UTF8.GetBytes(text[..(brace + 1)] + $"{JsonSerializer.Serialize(first.Name)}: {first.Value.GetRawText()}," + text[(brace + 1)..]);
        });
        var error = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.Equal(path, error.FilePath);
        Assert.Contains($"'{key}' appears twice", error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_merges_txt_is_refused_with_its_line_instead_of_becoming_U_FFFD()
    {
        int line = 0;
        var (folder, path) = CopyWith("merges.txt", bytes =>
        {
            // Damage the first symbol of the merge on the 10th line (discovered, not assumed).
            int start = 0;
            for (var seen = 1; seen < 10; seen++) start = Array.IndexOf(bytes, (byte)'\n', start) + 1;
            line = 10;
            return [.. bytes[..start], 0xFF, .. bytes[start..]];
        });
        var error = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.Equal(path, error.FilePath);
        Assert.Equal(line, error.LineNumber);
        Assert.Contains("not valid UTF-8", error.Problem);
    }

    // ---- long prompts ---------------------------------------------------------------------------

    [Fact]
    public void A_40000_letter_word_is_encoded_quickly_and_exactly_as_the_row_needs()
    {
        var tokenizer = TokenizerFixture.Tokenizer;
        var random = new Random(11);
        var word = new string(Enumerable.Range(0, 40_000).Select(_ => (char)('a' + random.Next(26))).ToArray());
        var clock = Stopwatch.StartNew();
        var batch = tokenizer.EncodeForModel([word]);
        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"EncodeForModel took {clock.Elapsed} for one 40,000-letter word");
        Assert.True(batch.Truncated[0]);

        var full = tokenizer.Encode(word);
        var expected = new List<long> { tokenizer.BosTokenId };
        expected.AddRange(full.Take(batch.Length - 2).Select(i => (long)i));
        expected.Add(tokenizer.EosTokenId);
        Assert.Equal(expected, TokenizerFixture.Row(batch.InputIds, 0));
    }

    [Fact]
    public void A_prompt_of_many_words_stops_being_encoded_once_the_row_is_full()
    {
        var tokenizer = TokenizerFixture.Tokenizer;
        var prompt = string.Join(' ', Enumerable.Repeat("a photo of a cat", 25_000));
        var batch = tokenizer.EncodeForModel([prompt]);
        var full = tokenizer.Encode(prompt);
        Assert.True(batch.Truncated[0]);
        Assert.InRange(batch.TokenCounts[0], batch.Length - 1, batch.Length + 1);
        Assert.True(full.Length > 10 * batch.Length);
        Assert.Equal(full.Take(batch.Length - 2).Select(i => (long)i), TokenizerFixture.Row(batch.InputIds, 0).Skip(1).Take(batch.Length - 2));
    }

    public static TheoryData<string> Words()
    {
        var data = new TheoryData<string>();
        var random = new Random(5);
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        foreach (var length in new[] { 1, 2, 3, 7, 20, 64, 300, 2_000 })
            for (var k = 0; k < 4; k++)
                data.Add(new string(Enumerable.Range(0, length).Select(_ => letters[random.Next(k == 0 ? 2 : letters.Length)]).ToArray()));
        data.Add(new string('a', 1_000));
        data.Add(string.Concat(Enumerable.Repeat("ab", 400)));
        data.Add("ééééààçœ");
        data.Add("日本語のテキスト");
        return data;
    }

    [Theory]
    [MemberData(nameof(Words))]
    public void The_fast_merge_loop_gives_openai_clips_merges(string word) =>
        Assert.Equal(ReferenceBpe.Encode(word), TokenizerFixture.Tokenizer.Encode(word));

    /// <summary>
    /// openai/CLIP's <c>SimpleTokenizer.bpe</c> written out naively (rebuild the word per round), for one
    /// pre-tokenized piece, reading the fixture's own vocab.json and merges.txt.
    /// </summary>
    private static class ReferenceBpe
    {
        private static readonly Lazy<(Dictionary<(string, string), int> Ranks, Dictionary<string, int> Vocabulary, string[] ByteSymbols)> Data = new(Load);

        public static int[] Encode(string piece)
        {
            var (ranks, vocabulary, byteSymbols) = Data.Value;
            var word = Encoding.UTF8.GetBytes(piece).Select(b => byteSymbols[b]).ToList();
            word[^1] += "</w>";
            while (word.Count > 1)
            {
                var best = Enumerable.Range(0, word.Count - 1)
                    .Select(i => (Pair: (word[i], word[i + 1]), Rank: ranks.TryGetValue((word[i], word[i + 1]), out var r) ? r : int.MaxValue))
                    .MinBy(p => p.Rank);
                if (best.Rank == int.MaxValue) break;
                var merged = new List<string>();
                for (var i = 0; i < word.Count;)
                {
                    if (i < word.Count - 1 && word[i] == best.Pair.Item1 && word[i + 1] == best.Pair.Item2)
                    {
                        merged.Add(word[i] + word[i + 1]);
                        i += 2;
                    }
                    else
                    {
                        merged.Add(word[i++]);
                    }
                }
                word = merged;
            }
            return word.Select(s => vocabulary[s]).ToArray();
        }

        private static (Dictionary<(string, string), int>, Dictionary<string, int>, string[]) Load()
        {
            var ranks = new Dictionary<(string, string), int>();
            var lines = File.ReadAllLines(Path.Combine(TokenizerFixture.Folder, "merges.txt"));
            var rank = 0;
            foreach (var line in lines.Skip(lines[0].StartsWith("#version", StringComparison.Ordinal) ? 1 : 0))
            {
                if (line.Length == 0) continue;
                var parts = line.Split(' ');
                ranks[(parts[0], parts[1])] = rank++;
            }
            var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(TokenizerFixture.Folder, "vocab.json")))!;
            // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256, 257, ...
            var symbols = new string[256];
            var next = 256;
            for (var b = 0; b < 256; b++)
            {
                var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
                symbols[b] = ((char)(printable ? b : next++)).ToString();
            }
            return (ranks, vocabulary, symbols);
        }
    }
}
