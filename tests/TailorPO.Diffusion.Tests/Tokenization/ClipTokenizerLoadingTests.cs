using System.IO.Compression;
using System.Text;
using System.Text.Json;
using TailorPO.Diffusion.Tokenization;

namespace TailorPO.Diffusion.Tests.Tokenization;

/// <summary>Loading from a tokenizer folder or openai's merges file, configuration files, and clear errors for bad files.</summary>
public sealed class ClipTokenizerLoadingTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("tailorpo-tokenizer-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>vocab.json read independently of the tokenizer.</summary>
    private static Dictionary<string, int> FixtureVocabulary()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixture.Folder, "vocab.json")));
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
    }

    private static string[] FixtureMergeLines() =>
        File.ReadAllText(Path.Combine(TokenizerFixture.Folder, "merges.txt")).Split('\n').Skip(1).Where(l => l.Length > 0).ToArray();

    /// <summary>A copy of the fixture folder, with some files replaced or left out.</summary>
    private string CopyFixtureFolder(IReadOnlyDictionary<string, string?>? replaced = null)
    {
        var folder = Path.Combine(_scratch, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json" })
        {
            if (replaced is not null && replaced.TryGetValue(name, out var content))
            {
                if (content is not null) File.WriteAllText(Path.Combine(folder, name), content);
            }
            else
            {
                File.Copy(Path.Combine(TokenizerFixture.Folder, name), Path.Combine(folder, name));
            }
        }
        return folder;
    }

    /// <summary>openai's file layout: a header line, then merges; lines past the first 48894 merges are not used.</summary>
    private string WriteOpenAiMergesFile(bool gzip, IEnumerable<string> mergeLines, string extraLines)
    {
        var text = "\"bpe_simple_vocab_16e6.txt#version: 0.2\n" + string.Join('\n', mergeLines) + "\n" + extraLines;
        var path = Path.Combine(_scratch, gzip ? "bpe_simple_vocab_16e6.txt.gz" : "bpe_simple_vocab_16e6.txt");
        using var file = File.Create(path);
        using Stream target = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        target.Write(Encoding.UTF8.GetBytes(text));
        return path;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Openai_merges_file_builds_the_vocabulary_of_vocab_json_and_the_same_ids(bool gzip)
    {
        var merges = FixtureMergeLines();
        // The fixture README: vocab.json was derived from openai's file exactly as SimpleTokenizer does,
        // which needs that many merges.
        Assert.Equal(49152 - 256 - 2, merges.Length);
        var path = WriteOpenAiMergesFile(gzip, merges, "zq zq\nqz qz\n");

        var tokenizer = ClipTokenizer.FromBpeMergesFile(path);

        var vocabulary = FixtureVocabulary();
        Assert.Equal(vocabulary.Count, tokenizer.VocabularySize);
        foreach (var (token, id) in vocabulary)
        {
            Assert.Equal(id, tokenizer.TokenToId(token));
            Assert.Equal(token, tokenizer.IdToToken(id));
        }
        Assert.Equal(TokenizerFixture.TopLevelInt("bos_token_id"), tokenizer.BosTokenId);
        Assert.Equal(TokenizerFixture.TopLevelInt("eos_token_id"), tokenizer.EosTokenId);
        Assert.Equal(tokenizer.EosTokenId, tokenizer.PadTokenId);
        foreach (var c in TokenizerFixture.Cases)
            Assert.Equal(c.BpeIds, tokenizer.Encode(c.Prompt));
    }

    [Fact]
    public void Openai_merges_file_with_zero_padding_gives_clip_tokenize_ids()
    {
        var path = WriteOpenAiMergesFile(gzip: true, FixtureMergeLines(), "");
        var tokenizer = ClipTokenizer.FromBpeMergesFile(path, padTokenId: ClipTokenizer.OpenAiClipPadTokenId);
        var cases = TokenizerFixture.Cases;
        var batch = tokenizer.EncodeForModel(cases.Select(c => c.Prompt).ToList());
        for (var row = 0; row < cases.Count; row++)
            Assert.Equal(cases[row].OpenAiClipTokenizeIds, TokenizerFixture.Row(batch.InputIds, row));
    }

    [Fact]
    public void Sd2_style_pad_token_in_the_folder_pads_with_its_id()
    {
        // SD 2.x's tokenizer folder names "!" as pad token (as a string in tokenizer_config.json and as an
        // AddedToken object in special_tokens_map.json); "!" is the first byte symbol, id 0 = clip.tokenize's padding.
        var exclamationId = FixtureVocabulary()["!"];
        Assert.Equal(0, exclamationId);
        var folder = CopyFixtureFolder(new Dictionary<string, string?>
        {
            ["tokenizer_config.json"] = """{"model_max_length": 77, "pad_token": "!", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"}""",
            ["special_tokens_map.json"] = """{"pad_token": {"content": "!", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false}}""",
        });

        var tokenizer = ClipTokenizer.FromFolder(folder);

        Assert.Equal(exclamationId, tokenizer.PadTokenId);
        var cases = TokenizerFixture.Cases;
        var batch = tokenizer.EncodeForModel(cases.Select(c => c.Prompt).ToList());
        for (var row = 0; row < cases.Count; row++)
        {
            Assert.Equal(cases[row].OpenAiClipTokenizeIds, TokenizerFixture.Row(batch.InputIds, row));
            Assert.Equal(cases[row].AttentionMask, TokenizerFixture.Row(batch.AttentionMask, row));
        }
    }

    [Fact]
    public void Special_tokens_map_overrides_tokenizer_config()
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?>
        {
            ["tokenizer_config.json"] = """{"pad_token": "!"}""",
            ["special_tokens_map.json"] = """{"pad_token": "<|endoftext|>"}""",
        });
        var tokenizer = ClipTokenizer.FromFolder(folder);
        Assert.Equal(FixtureVocabulary()["<|endoftext|>"], tokenizer.PadTokenId);
    }

    [Fact]
    public void Folder_without_configuration_files_uses_sd15_defaults()
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["tokenizer_config.json"] = null, ["special_tokens_map.json"] = null });
        var tokenizer = ClipTokenizer.FromFolder(folder);
        var vocabulary = FixtureVocabulary();
        Assert.Equal(vocabulary["<|startoftext|>"], tokenizer.BosTokenId);
        Assert.Equal(vocabulary["<|endoftext|>"], tokenizer.EosTokenId);
        Assert.Equal(vocabulary["<|endoftext|>"], tokenizer.PadTokenId);
        Assert.Equal(77, tokenizer.ModelMaxLength);
    }

    [Fact]
    public void Model_max_length_from_the_config_sets_the_row_length_and_truncation()
    {
        const int length = 32;
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["tokenizer_config.json"] = $$"""{"model_max_length": {{length}}}""" });
        var tokenizer = ClipTokenizer.FromFolder(folder);
        Assert.Equal(length, tokenizer.ModelMaxLength);

        var cases = TokenizerFixture.Cases;
        Assert.Contains(cases, c => c.NumBpeTokens > length - 2);
        var batch = tokenizer.EncodeForModel(cases.Select(c => c.Prompt).ToList());
        for (var row = 0; row < cases.Count; row++)
        {
            // The documented rule applied to the fixture's untruncated ids: [bos] + ids[:L-2] + [eos], eos padding.
            var content = cases[row].BpeIds.Take(length - 2).Select(v => (long)v).ToList();
            var expected = new List<long> { tokenizer.BosTokenId };
            expected.AddRange(content);
            expected.Add(tokenizer.EosTokenId);
            while (expected.Count < length) expected.Add(tokenizer.PadTokenId);
            Assert.Equal(expected, TokenizerFixture.Row(batch.InputIds, row));
            Assert.Equal(cases[row].NumBpeTokens > length - 2, batch.Truncated[row]);
        }
    }

    [Fact]
    public void Missing_folder_is_reported_with_its_path()
    {
        var missing = Path.Combine(_scratch, "no-such-folder");
        var e = Assert.Throws<DirectoryNotFoundException>(() => ClipTokenizer.FromFolder(missing));
        Assert.Contains(missing, e.Message);
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    public void Missing_required_file_is_named(string name)
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { [name] = null });
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFolder(folder));
        Assert.EndsWith(name, e.FileName);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Vocabulary_that_is_not_json_names_the_file_and_line()
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["vocab.json"] = "{\n  \"a\": 0,\n  \"b\": \n}" });
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.EndsWith("vocab.json", e.FilePath);
        Assert.Equal(4, e.LineNumber);
        Assert.Contains("vocab.json", e.Message);
    }

    [Theory]
    [InlineData("[\"a\", \"b\"]", "JSON object")]
    [InlineData("{\"a\": 0, \"b\": \"one\"}", "\"b\"")]
    [InlineData("{\"a\": 0, \"b\": -1}", "\"b\"")]
    [InlineData("{\"a\": 0, \"b\": 1.5}", "\"b\"")]
    [InlineData("{\"a\": 0, \"b\": 0}", "unique")]
    [InlineData("{}", "empty")]
    public void Malformed_vocabulary_is_explained(string json, string expectedInMessage)
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["vocab.json"] = json });
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.EndsWith("vocab.json", e.FilePath);
        Assert.Contains(expectedInMessage, e.Message);
    }

    [Theory]
    [InlineData("#version: 0.2\ni n\nt h\nbad\n", 4)]
    [InlineData("#version: 0.2\ni n\n\nt h\n", 3)]
    [InlineData("#version: 0.2\ni n t\n", 2)]
    public void Malformed_merge_line_is_named_by_line_number(string merges, int line)
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["merges.txt"] = merges });
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.EndsWith("merges.txt", e.FilePath);
        Assert.Equal(line, e.LineNumber);
        Assert.Contains($"line {line}", e.Message);
    }

    [Fact]
    public void Merges_file_without_rules_is_rejected()
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["merges.txt"] = "#version: 0.2\n" });
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.EndsWith("merges.txt", e.FilePath);
    }

    [Fact]
    public void Special_token_missing_from_the_vocabulary_names_the_config_file()
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["special_tokens_map.json"] = """{"bos_token": "<|nope|>"}""" });
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.Contains("special_tokens_map.json", e.Message);
        Assert.Contains("<|nope|>", e.Message);
    }

    [Theory]
    [InlineData("""{"model_max_length": 1}""")]
    [InlineData("""{"model_max_length": "77"}""")]
    [InlineData("""{"model_max_length": 76.5}""")]
    [InlineData("""{"pad_token": 5}""")]
    [InlineData("""[1, 2]""")]
    [InlineData("""{"model_max_length": """)]
    public void Malformed_tokenizer_config_is_named(string json)
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["tokenizer_config.json"] = json });
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromFolder(folder));
        Assert.EndsWith("tokenizer_config.json", e.FilePath);
    }

    [Fact]
    public void Transformers_no_limit_sentinel_falls_back_to_the_clip_context_length()
    {
        var folder = CopyFixtureFolder(new Dictionary<string, string?> { ["tokenizer_config.json"] = """{"model_max_length": 1000000000000000019884624838656}""" });
        Assert.Equal(ClipTokenizer.DefaultModelMaxLength, ClipTokenizer.FromFolder(folder).ModelMaxLength);
    }

    [Fact]
    public void Openai_merges_file_that_is_too_short_is_rejected()
    {
        var path = WriteOpenAiMergesFile(gzip: true, FixtureMergeLines().Take(100), "");
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromBpeMergesFile(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("48894", e.Message);
    }

    [Fact]
    public void Openai_merges_file_with_a_bad_line_names_the_line()
    {
        var lines = FixtureMergeLines();
        lines[9] = "broken";
        var path = WriteOpenAiMergesFile(gzip: false, lines, "");
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromBpeMergesFile(path));
        Assert.Equal(11, e.LineNumber);
    }

    [Fact]
    public void Corrupt_gzip_file_is_rejected_with_its_name()
    {
        var path = Path.Combine(_scratch, "corrupt.txt.gz");
        File.WriteAllBytes(path, [0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x03, 0x01, 0x02, 0x03]);
        var e = Assert.Throws<TokenizerFileException>(() => ClipTokenizer.FromBpeMergesFile(path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Missing_openai_merges_file_is_named()
    {
        var path = Path.Combine(_scratch, "absent.txt.gz");
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromBpeMergesFile(path));
        Assert.Equal(path, e.FileName);
    }
}
