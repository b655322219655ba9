using TailorPO.Diffusion.Clip;
using TailorPO.TestUtilities;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>
/// Behaviour the fixture cases do not pin down: the two pooling rules chosen by
/// <c>eos_token_id</c>, causality, the padding mask, input validation.
/// </summary>
public sealed class ClipTextModelBehaviourTests : IDisposable
{
    private readonly CLIPTextModel _model = CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.TextFolder));

    /// <summary>transformers' marker of the legacy pooling rule (SD v1.5's text encoder config): argmax instead of eos.</summary>
    private const long LegacyEosTokenId = 2;

    /// <summary>An eos id inside the fixture's vocabulary that is none of the other ids below.</summary>
    private long Eos => _model.Config.VocabSize / 2;

    /// <summary>Ids with a large id before the eos id and the eos id twice, so the rules disagree.</summary>
    private Tensor DisagreeingIds(long eos)
    {
        var vocab = _model.Config.VocabSize;
        Assert.True(vocab >= 32, $"the test ids need a vocabulary of at least 32 tokens; the fixture has {vocab}");
        var rows = new long[][]
        {
            [vocab - 2, 5, vocab - 1, eos, 7, eos, 3, 4],
            [vocab - 2, eos, 9, 11, vocab - 1, 2, eos, eos],
        };
        return tensor(rows.SelectMany(r => r).ToArray(), [2, 8]);
    }

    private static long[] Reference(Tensor ids, Func<long[], long> rule) =>
        Enumerable.Range(0, (int)ids.shape[0]).Select(b => rule(ids[b].data<long>().ToArray())).ToArray();

    [Fact]
    public void Legacy_eos_id_2_pools_at_the_first_largest_id()
    {
        using var scope = NewDisposeScope();
        using var folder = ClipTestSupport.CopyModel(ClipTestSupport.TextFolder, editConfig: c => c["eos_token_id"] = LegacyEosTokenId);
        using var model = CLIPTextModel.FromPretrained(folder.Path);
        Assert.True(model.Config.UsesLegacyArgmaxPooling);
        var ids = DisagreeingIds(Eos);
        var expected = Reference(ids, row => Array.IndexOf(row, row.Max()));
        Assert.Equal(expected, model.PoolingPositions(ids).data<long>().ToArray());
        AssertPooledRowsAt(model, ids, expected);
    }

    [Fact]
    public void Other_eos_ids_pool_at_the_first_eos_position()
    {
        using var scope = NewDisposeScope();
        var eos = Eos;
        using var folder = ClipTestSupport.CopyModel(ClipTestSupport.TextFolder, editConfig: c => c["eos_token_id"] = eos);
        using var model = CLIPTextModel.FromPretrained(folder.Path);
        Assert.False(model.Config.UsesLegacyArgmaxPooling);
        var ids = DisagreeingIds(eos);
        var expected = Reference(ids, row => Array.IndexOf(row, eos));
        Assert.NotEqual(Reference(ids, row => Array.IndexOf(row, row.Max())), expected);
        Assert.Equal(expected, model.PoolingPositions(ids).data<long>().ToArray());
        AssertPooledRowsAt(model, ids, expected);
    }

    [Fact]
    public void With_the_real_eos_id_in_the_config_the_fixture_pooling_is_unchanged()
    {
        // CLIP's eos is its highest id and ends every tokenized row, so the first eos IS the argmax: both rules agree.
        using var scope = NewDisposeScope();
        using var cases = FixtureCases.Load(ClipTestSupport.TextFolder, "cases.safetensors");
        var eos = cases.CaseNames().Max(name => cases.Get(name, "input_ids").max().item<long>());
        using var folder = ClipTestSupport.CopyModel(ClipTestSupport.TextFolder, editConfig: c => c["eos_token_id"] = eos);
        using var model = CLIPTextModel.FromPretrained(folder.Path);
        Assert.False(model.Config.UsesLegacyArgmaxPooling);
        foreach (var name in cases.CaseNames())
        {
            var expected = cases.Get(name, "expected_pooler_output");
            using var result = model.Encode(cases.Get(name, "input_ids"));
            TensorAssert.Close(expected, result.PoolerOutput, Parity.Atol(expected), what: $"{name} pooler_output");
        }
    }

    private static void AssertPooledRowsAt(CLIPTextModel model, Tensor ids, long[] positions)
    {
        using var result = model.Encode(ids);
        for (var b = 0; b < positions.Length; b++)
            Assert.True(Parity.BitEqual(result.PoolerOutput[b], result.LastHiddenState[b, positions[b]]), $"row {b}");
    }

    [Fact]
    public void A_token_changes_no_output_before_it()
    {
        using var scope = NewDisposeScope();
        var ids = DisagreeingIds(Eos);
        var changed = ids.clone();
        changed[0, 4] = tensor(_model.Config.VocabSize / 3); // differs from the 7 there
        var before = _model.forward(ids);
        var after = _model.forward(changed);
        Assert.True(Parity.BitEqual(before[0, ..4], after[0, ..4]));
        Assert.False(before[0, 4..].allclose(after[0, 4..]));
        Assert.True(Parity.BitEqual(before[1], after[1]));
    }

    [Fact]
    public void A_masked_token_changes_no_output_but_its_own()
    {
        using var scope = NewDisposeScope();
        var ids = DisagreeingIds(Eos);
        var changed = ids.clone();
        const int masked = 2;
        changed[0, masked] = tensor(_model.Config.VocabSize / 4); // differs from the vocab - 1 there
        var mask = ones(2, 8, dtype: ScalarType.Int64);
        mask[0, masked] = tensor(0L);
        using var a = _model.Encode(ids, mask);
        using var b = _model.Encode(changed, mask);
        var others = tensor(Enumerable.Range(0, 8).Where(i => i != masked).Select(i => (long)i).ToArray());
        TensorAssert.Close(a.LastHiddenState[0].index_select(0, others), b.LastHiddenState[0].index_select(0, others), atol: 1e-6, what: "unmasked positions");
        Assert.False(a.LastHiddenState[0, masked].allclose(b.LastHiddenState[0, masked]));
        // Without the mask the same change does reach later positions.
        var unmaskedA = _model.forward(ids);
        var unmaskedB = _model.forward(changed);
        Assert.False(unmaskedA[0, masked + 1].allclose(unmaskedB[0, masked + 1]));
    }

    [Fact]
    public void An_all_ones_mask_equals_no_mask()
    {
        using var scope = NewDisposeScope();
        var ids = DisagreeingIds(Eos);
        using var masked = _model.Encode(ids, ones(2, 8));
        TensorAssert.Close(_model.forward(ids), masked.LastHiddenState, atol: 1e-6);
    }

    [Theory]
    [InlineData("rank")]
    [InlineData("float")]
    [InlineData("too_long")]
    [InlineData("negative")]
    [InlineData("beyond_vocab")]
    [InlineData("empty")]
    public void Bad_token_ids_are_rejected_with_the_argument_named(string problem)
    {
        using var scope = NewDisposeScope();
        var config = _model.Config;
        var ids = problem switch
        {
            "rank" => zeros(2, 3, 4, dtype: ScalarType.Int64),
            "float" => zeros(2, 4),
            "too_long" => zeros(1, config.MaxPositionEmbeddings + 1, dtype: ScalarType.Int64),
            "negative" => tensor(new long[] { 0, -1 }, [1, 2]),
            "beyond_vocab" => tensor(new long[] { 0, config.VocabSize }, [1, 2]),
            "empty" => zeros(1, 0, dtype: ScalarType.Int64),
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };
        var error = Assert.Throws<ArgumentException>(() => _model.Encode(ids));
        Assert.Equal("inputIds", error.ParamName);
    }

    [Fact]
    public void A_mask_of_another_shape_or_with_other_values_is_rejected()
    {
        using var scope = NewDisposeScope();
        var ids = zeros(2, 5, dtype: ScalarType.Int64);
        Assert.Equal("attentionMask", Assert.Throws<ArgumentException>(() => _model.Encode(ids, ones(2, 4))).ParamName);
        Assert.Equal("attentionMask", Assert.Throws<ArgumentException>(() => _model.Encode(ids, full(2, 5, 0.5))).ParamName);
    }

    [Fact]
    public void Int32_ids_give_the_same_result_as_int64_ids()
    {
        using var scope = NewDisposeScope();
        var ids = DisagreeingIds(Eos);
        Assert.True(Parity.BitEqual(_model.forward(ids), _model.forward(ids.to(ScalarType.Int32))));
    }

    public void Dispose() => _model.Dispose();
}
