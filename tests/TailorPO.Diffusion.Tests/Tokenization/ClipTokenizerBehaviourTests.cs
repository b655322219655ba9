using TailorPO.Diffusion.Tokenization;

namespace TailorPO.Diffusion.Tests.Tokenization;

/// <summary>Argument validation, thread safety and the bounded per-word cache.</summary>
public class ClipTokenizerBehaviourTests
{
    private static ClipTokenizer Tokenizer => TokenizerFixture.Tokenizer;

    [Fact]
    public void Null_and_empty_prompt_lists_are_rejected_by_name()
    {
        Assert.Equal("prompts", Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeForModel(null!)).ParamName);
        Assert.Equal("prompts", Assert.Throws<ArgumentException>(() => Tokenizer.EncodeForModel([])).ParamName);
        var e = Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeForModel(["a cat", null!]));
        Assert.Equal("prompts", e.ParamName);
        Assert.Contains("Prompt 1", e.Message);
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Decode(null!));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-5)]
    public void Row_length_below_two_is_rejected(int maxLength)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeForModel(["a cat"], maxLength));
        Assert.Equal("maxLength", e.ParamName);
        Assert.Contains(maxLength.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public void Row_length_two_keeps_only_bos_and_eos_and_flags_truncation()
    {
        var c = TokenizerFixture.Cases.First(x => x.NumBpeTokens > 0);
        var batch = Tokenizer.EncodeForModel([c.Prompt, ""], 2);
        Assert.Equal(new long[] { Tokenizer.BosTokenId, Tokenizer.EosTokenId }, TokenizerFixture.Row(batch.InputIds, 0));
        Assert.True(batch.Truncated[0]);
        Assert.False(batch.Truncated[1]);
    }

    [Fact]
    public void Unpaired_surrogate_is_rejected_because_utf8_cannot_encode_it()
    {
        var e = Assert.Throws<ArgumentException>(() => Tokenizer.Encode("cat \uD835 dog"));
        Assert.Equal("text", e.ParamName);
        Assert.Contains("surrogate", e.Message);
    }

    [Fact]
    public void Unknown_ids_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([Tokenizer.VocabularySize + 10]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
        Assert.Equal("padTokenId", Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.WithPadTokenId(-1)).ParamName);
        Assert.Null(Tokenizer.IdToToken(-1));
        Assert.Null(Tokenizer.TokenToId("no such token"));
    }

    [Fact]
    public void Loading_rejects_blank_paths_and_a_non_positive_cache()
    {
        Assert.Throws<ArgumentException>(() => ClipTokenizer.FromFolder(" "));
        Assert.Throws<ArgumentException>(() => ClipTokenizer.FromBpeMergesFile(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipTokenizer.FromFolder(TokenizerFixture.Folder, cacheCapacity: 0));
    }

    [Fact]
    public void Concurrent_encoding_gives_the_fixture_ids()
    {
        var tokenizer = ClipTokenizer.FromFolder(TokenizerFixture.Folder);
        var cases = TokenizerFixture.Cases;
        var work = Enumerable.Range(0, 8 * cases.Count).Select(i => cases[i % cases.Count]).ToArray();
        var results = new int[work.Length][];
        Parallel.For(0, work.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = tokenizer.Encode(work[i].Prompt));
        for (var i = 0; i < work.Length; i++) Assert.Equal(work[i].BpeIds, results[i]);
    }

    [Fact]
    public void Word_cache_stays_within_its_bound_and_results_stay_exact()
    {
        const int capacity = 8;
        var tokenizer = ClipTokenizer.FromFolder(TokenizerFixture.Folder, cacheCapacity: capacity);
        var cases = TokenizerFixture.Cases;
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var c in cases)
            {
                Assert.Equal(c.BpeIds, tokenizer.Encode(c.Prompt));
                Assert.InRange(tokenizer.Encoder.Cache.Count, 0, capacity);
            }
        }
    }

    [Fact]
    public void Bounded_cache_returns_computed_values_and_never_exceeds_capacity_under_contention()
    {
        var cache = new BoundedConcurrentCache<int, int>(16);
        Parallel.For(0, 10_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            Assert.Equal(i % 100 * 3, cache.GetOrAdd(i % 100, k => k * 3));
        });
        Assert.InRange(cache.Count, 0, cache.Capacity);
    }
}
