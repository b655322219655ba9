using TailorPO.Diffusion.Clip;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>
/// The text encoder reproduces transformers 4.33's CLIPTextModel on every case of the
/// <c>clip_text/</c> fixture: per-layer hidden states, last hidden state, pooled output and
/// the pooled (end-of-text) positions.
/// </summary>
public sealed class ClipTextModelParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly CLIPTextModel _model = CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.TextFolder));
    private readonly FixtureCases _cases = FixtureCases.Load(ClipTestSupport.TextFolder, "cases.safetensors");

    public static IEnumerable<object[]> Cases() => ClipTestSupport.CaseNames(ClipTestSupport.TextFolder);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_layer_the_last_hidden_state_and_the_pooled_output_match_transformers(string caseName)
    {
        using var scope = NewDisposeScope();
        var ids = _cases.Get(caseName, "input_ids");
        using var result = _model.Encode(ids, outputHiddenStates: true);

        // Per-layer states first: a mismatch is then localised to the first layer that drifts.
        var layerNames = _cases.Names.Where(n => n.StartsWith($"{caseName}.hidden_states.", StringComparison.Ordinal))
            .OrderBy(n => int.Parse(n[(n.LastIndexOf('.') + 1)..])).ToList();
        Assert.Equal(layerNames.Count, result.HiddenStates.Count);
        for (var i = 0; i < layerNames.Count; i++)
        {
            var expected = _cases[layerNames[i]];
            TensorAssert.Close(expected, result.HiddenStates[i], Parity.Atol(expected), what: layerNames[i]);
        }

        var expectedLast = _cases.Get(caseName, "expected_last_hidden_state");
        var expectedPooled = _cases.Get(caseName, "expected_pooler_output");
        output.WriteLine($"{caseName}: last max|diff| {TensorAssert.MaxAbsDifference(expectedLast, result.LastHiddenState):E2}, " +
                         $"pooled {TensorAssert.MaxAbsDifference(expectedPooled, result.PoolerOutput):E2}");
        TensorAssert.Close(expectedLast, result.LastHiddenState, Parity.Atol(expectedLast), what: "last_hidden_state");
        TensorAssert.Close(expectedPooled, result.PoolerOutput, Parity.Atol(expectedPooled), what: "pooler_output");
        Assert.Null(result.TextEmbeds);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pooled_positions_follow_the_transformers_end_of_text_rule(string caseName)
    {
        using var scope = NewDisposeScope();
        var positions = _model.PoolingPositions(_cases.Get(caseName, "input_ids"));
        Assert.Equal(_cases.Get(caseName, "eos_position").data<long>().ToArray(), positions.data<long>().ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_returns_the_last_hidden_state_for_the_unet(string caseName)
    {
        using var scope = NewDisposeScope();
        var hidden = _model.forward(_cases.Get(caseName, "input_ids"));
        var expected = _cases.Get(caseName, "expected_last_hidden_state");
        TensorAssert.Close(expected, hidden, Parity.Atol(expected), what: "forward");
    }

    public void Dispose()
    {
        _model.Dispose();
        _cases.Dispose();
    }
}
