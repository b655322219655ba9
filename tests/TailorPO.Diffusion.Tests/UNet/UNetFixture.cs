using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;

namespace TailorPO.Diffusion.Tests.UNet;

/// <summary>The fixture UNet (loaded once per test class) and its cases files.</summary>
public sealed class UNetFixture : IDisposable
{
    /// <summary>Loads the model and the cases.</summary>
    public UNetFixture()
    {
        Folder = FixtureRoot.Combine("unet");
        Model = UNet2DConditionModel.FromPretrained(Folder);
        Cases = FixtureCases.Load("unet", "cases.safetensors");
    }

    /// <summary>The fixture folder.</summary>
    public string Folder { get; }

    /// <summary>The base model (float32, eval mode).</summary>
    public UNet2DConditionModel Model { get; }

    /// <summary>unet/cases.safetensors.</summary>
    public FixtureCases Cases { get; }

    /// <summary>Cases that have an expected output.</summary>
    public IReadOnlyList<string> CaseNames => Cases.CaseNames().Where(c => Cases.Has($"{c}.expected")).ToList();

    /// <summary>The tolerance of the README: 1e-4 * max(1, max |expected|).</summary>
    public static double Tolerance(TorchSharp.torch.Tensor expected) =>
        1e-4 * Math.Max(1.0, expected.abs().max().item<float>());

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        Cases.Dispose();
    }
}
