namespace TailorPO.Core.Numerics;

/// <summary>Where one convolution runs.</summary>
public enum ConvolutionRoute
{
    /// <summary>libtorch's own convolution (oneDNN on x86 CPUs).</summary>
    Native,

    /// <summary>im2col and a matrix product (<c>unfold</c> + <c>matmul</c>), which never calls oneDNN.</summary>
    Reference,
}
