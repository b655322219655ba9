using TailorPO.Diffusion.Tokenization;

namespace TailorPO.Diffusion.Tests.Tokenization;

/// <summary>
/// Every prompt of the tokenizer fixture (ids computed by openai/CLIP's SimpleTokenizer and
/// transformers, see the fixture README) is reproduced id for id.
/// </summary>
public class ClipTokenizerFixtureTests
{
    private static ClipTokenizer Tokenizer => TokenizerFixture.Tokenizer;

    [Fact]
    public void Fixture_has_cases_and_special_ids_match_the_file()
    {
        Assert.NotEmpty(TokenizerFixture.Cases);
        Assert.Equal(TokenizerFixture.TopLevelInt("bos_token_id"), Tokenizer.BosTokenId);
        Assert.Equal(TokenizerFixture.TopLevelInt("eos_token_id"), Tokenizer.EosTokenId);
        Assert.Equal(TokenizerFixture.TopLevelInt("pad_token_id"), Tokenizer.PadTokenId);
        Assert.Equal(TokenizerFixture.TopLevelInt("context_length"), Tokenizer.ModelMaxLength);
    }

    [Theory]
    [MemberData(nameof(TokenizerFixture.CaseRows), MemberType = typeof(TokenizerFixture))]
    public void Encode_gives_the_untruncated_bpe_ids(int index, string note)
    {
        var c = TokenizerFixture.Cases[index];
        Assert.True(c.Note == note);
        var ids = Tokenizer.Encode(c.Prompt);
        Assert.Equal(c.BpeIds, ids);
        Assert.Equal(c.NumBpeTokens, ids.Length);
    }

    [Theory]
    [MemberData(nameof(TokenizerFixture.CaseRows), MemberType = typeof(TokenizerFixture))]
    public void Tokenize_gives_the_vocabulary_strings(int index, string note)
    {
        var c = TokenizerFixture.Cases[index];
        Assert.True(c.Note == note);
        Assert.Equal(c.BpeTokens, Tokenizer.Tokenize(c.Prompt));
    }

    [Theory]
    [MemberData(nameof(TokenizerFixture.CaseRows), MemberType = typeof(TokenizerFixture))]
    public void EncodeForModel_gives_sd15_input_ids_mask_and_truncation(int index, string note)
    {
        var c = TokenizerFixture.Cases[index];
        Assert.True(c.Note == note);
        var batch = Tokenizer.EncodeForModel([c.Prompt]);
        Assert.Equal(1, batch.BatchSize);
        Assert.Equal(c.InputIds.Length, batch.Length);
        Assert.Equal(c.InputIds, TokenizerFixture.Row(batch.InputIds, 0));
        Assert.Equal(c.AttentionMask, TokenizerFixture.Row(batch.AttentionMask, 0));
        Assert.Equal(c.Truncated, batch.Truncated[0]);
        if (c.Truncated)
        {
            // BPE stops once the row is full (issue 11): the count reached is past the row, never past the prompt.
            Assert.InRange(batch.TokenCounts[0], batch.Length - 1, c.NumBpeTokens);
            Assert.Equal(c.NumBpeTokens, Tokenizer.Encode(c.Prompt).Length);
        }
        else
        {
            Assert.Equal(c.NumBpeTokens, batch.TokenCounts[0]);
        }
    }

    [Theory]
    [MemberData(nameof(TokenizerFixture.CaseRows), MemberType = typeof(TokenizerFixture))]
    public void Zero_padding_gives_openai_clip_tokenize_ids(int index, string note)
    {
        var c = TokenizerFixture.Cases[index];
        Assert.True(c.Note == note);
        var openAi = Tokenizer.WithPadTokenId(ClipTokenizer.OpenAiClipPadTokenId);
        var batch = openAi.EncodeForModel([c.Prompt], c.OpenAiClipTokenizeIds.Length);
        Assert.Equal(c.OpenAiClipTokenizeIds, TokenizerFixture.Row(batch.InputIds, 0));
    }

    [Fact]
    public void One_batch_of_all_prompts_gives_every_row_and_an_int64_tensor()
    {
        var cases = TokenizerFixture.Cases;
        var batch = Tokenizer.EncodeForModel(cases.Select(c => c.Prompt).ToList());
        Assert.Equal(cases.Count, batch.BatchSize);
        for (var row = 0; row < cases.Count; row++)
            Assert.Equal(cases[row].InputIds, TokenizerFixture.Row(batch.InputIds, row));

        using var ids = batch.InputIdsTensor();
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, ids.dtype);
        Assert.Equal(new long[] { cases.Count, cases[0].InputIds.Length }, ids.shape);
        for (var row = 0; row < cases.Count; row++)
            Assert.Equal(cases[row].InputIds, ids[row].data<long>().ToArray());
        using var mask = batch.AttentionMaskTensor();
        Assert.Equal(cases[^1].AttentionMask, mask[cases.Count - 1].data<long>().ToArray());
    }

    [Fact]
    public void Decode_round_trips_the_ascii_prompts()
    {
        // Only ASCII prompts without '&' (which may start an HTML reference): their cleaned text is just
        // the lower-cased prompt, so the expectation needs no part of the tokenizer.
        var ascii = TokenizerFixture.Cases.Where(c => c.Prompt.All(char.IsAscii) && !c.Prompt.Contains('&')).ToList();
        Assert.NotEmpty(ascii);
        foreach (var c in ascii)
        {
            var decoded = Tokenizer.Decode(c.BpeIds, skipSpecialTokens: false);
            // Decoding puts one space after each word; without white space both sides are the same text.
            Assert.Equal(WithoutWhiteSpace(c.Prompt.ToLowerInvariant()), WithoutWhiteSpace(decoded));
            Assert.Equal(c.BpeIds, Tokenizer.Encode(decoded));
        }
    }

    [Fact]
    public void Decode_of_a_model_row_skips_bos_and_eos()
    {
        var c = TokenizerFixture.Cases.First(x => x.NumBpeTokens > 0 && !x.Truncated && !x.BpeIds.Contains(Tokenizer.EosTokenId));
        var row = c.InputIds.Select(v => (int)v);
        Assert.Equal(Tokenizer.Decode(c.BpeIds), Tokenizer.Decode(row));
        Assert.DoesNotContain("<|", Tokenizer.Decode(row));
    }

    private static string WithoutWhiteSpace(string text) => string.Concat(text.Where(ch => !char.IsWhiteSpace(ch)));
}
