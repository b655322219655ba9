using static TorchSharp.torch;

namespace TailorPO.Rewards.Analytic;

/// <summary>
/// Luma of gamma-encoded RGB with the ITU-R BT.601 weights (0.299, 0.587, 0.114), the weights of
/// Pillow's <c>convert("L")</c> and of most image libraries' greyscale conversion.
/// </summary>
public static class Luminance
{
    /// <summary>Weight of the red channel.</summary>
    public const double Red = 0.299;

    /// <summary>Weight of the green channel.</summary>
    public const double Green = 0.587;

    /// <summary>Weight of the blue channel.</summary>
    public const double Blue = 0.114;

    /// <summary>Per-pixel luma of [B, 3, H, W] images, shape [B, H*W] (flattened, differentiable).</summary>
    public static Tensor PerPixel(Tensor images)
    {
        using var scope = NewDisposeScope();
        var luma = images[.., 0] * Red + images[.., 1] * Green + images[.., 2] * Blue;
        return luma.flatten(1).MoveToOuterDisposeScope();
    }
}
