using TailorPO.Diffusion.Clip;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>
/// The vision encoder reproduces transformers 4.33's CLIPVisionModelWithProjection on every
/// case of the <c>aesthetic/</c> fixture (from its given pixel values).
/// </summary>
public sealed class ClipVisionModelParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly CLIPVisionModelWithProjection _model = CLIPVisionModelWithProjection.FromPretrained(FixtureRoot.Combine(ClipTestSupport.VisionFolder));
    private readonly FixtureCases _cases = FixtureCases.Load(ClipTestSupport.VisionFolder, "cases.safetensors");

    public static IEnumerable<object[]> Cases() => ClipTestSupport.CaseNames(ClipTestSupport.VisionFolder);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Last_hidden_state_and_image_embeds_match_transformers(string caseName)
    {
        using var scope = NewDisposeScope();
        using var result = _model.Encode(_cases.Get(caseName, "pixel_values"));
        var expectedLast = _cases.Get(caseName, "vision_last_hidden_state");
        var expectedEmbeds = _cases.Get(caseName, "image_embeds");
        output.WriteLine($"{caseName}: last max|diff| {TensorAssert.MaxAbsDifference(expectedLast, result.LastHiddenState):E2}, " +
                         $"embeds {TensorAssert.MaxAbsDifference(expectedEmbeds, result.ImageEmbeds):E2}");
        TensorAssert.Close(expectedLast, result.LastHiddenState, Parity.Atol(expectedLast), what: "vision_last_hidden_state");
        TensorAssert.Close(expectedEmbeds, result.ImageEmbeds, Parity.Atol(expectedEmbeds), what: "image_embeds");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_returns_the_image_embeds(string caseName)
    {
        using var scope = NewDisposeScope();
        var embeds = _model.forward(_cases.Get(caseName, "pixel_values"));
        var expected = _cases.Get(caseName, "image_embeds");
        TensorAssert.Close(expected, embeds, Parity.Atol(expected), what: "forward");
    }

    public void Dispose()
    {
        _model.Dispose();
        _cases.Dispose();
    }
}
