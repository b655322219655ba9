namespace TailorPO.Core.Numerics;

/// <summary>How the library's CPU convolutions are routed (<see cref="TorchNumerics"/>).</summary>
public enum ConvolutionPathPolicy
{
    /// <summary>
    /// The default: check libtorch's oneDNN convolutions on this CPU once per process; where they are right, use them
    /// unchanged; where they are wrong (e.g. oneDNN 3.7.1 on AMD Zen 5), check each convolution shape at its first use
    /// and send the shapes oneDNN gets wrong through the im2col reference path.
    /// </summary>
    Auto,

    /// <summary>Trust oneDNN without checking (for CPUs known to be right, to skip the start-up check).</summary>
    OneDnn,

    /// <summary>Send every float32/bfloat16 CPU convolution of the library through the im2col reference path (slower, never oneDNN).</summary>
    Reference,
}
