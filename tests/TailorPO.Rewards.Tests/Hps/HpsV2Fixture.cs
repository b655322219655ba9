using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Hps;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Hps;

/// <summary>The HPSv2 fixture (tests/fixtures/hpsv2, its README) and the tolerances it documents.</summary>
internal static class HpsV2Fixture
{
    internal static string Folder => FixtureRoot.Combine("hpsv2");

    /// <summary>The CLIP BPE files the fixture README says HPSv2's vocabulary is identical to.</summary>
    internal static string TokenizerFolder => FixtureRoot.Combine("tokenizer");

    internal static FixtureCases LoadCases() => FixtureCases.Load("hpsv2", "cases.safetensors");

    /// <summary>The reward built from the fixture files (weights in <paramref name="dtype"/>).</summary>
    internal static HpsV2Reward Reward(ScalarType? dtype = null)
    {
        var model = OpenClipModel.FromPretrained(Folder, new Diffusion.Checkpoints.ModelLoadOptions { DType = dtype });
        var preprocessor = LetterboxPreprocessor.FromFile(Path.Combine(Folder, HpsV2Reward.PreprocessConfigFileName), (int)model.Config.Vision.ImageSize);
        return new HpsV2Reward(model, ClipTokenizer.FromFolder(TokenizerFolder), preprocessor);
    }

    /// <summary>The prompts of a case, from the cases file's metadata.</summary>
    internal static string[] Prompts(FixtureCases cases, string caseName) => cases.CaseStrings(caseName, "prompts");

    /// <summary>
    /// The README's gradient tolerance: max |actual - expected| &lt;= 1e-3 * max |expected| of the case.
    /// Returns the max error relative to max |expected|.
    /// </summary>
    internal static double AssertGradientClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        var scale = expected.abs().max().item<float>();
        var error = TensorAssert.MaxAbsDifference(expected, actual);
        Assert.True(error <= 1e-3 * scale, $"{what}: max |diff| {error:E3} exceeds 1e-3 * max |grad| = {1e-3 * scale:E3}");
        return error / scale;
    }
}
