namespace TailorPO.Core.Numerics;

/// <summary>
/// A convolution shape the CPU numerics guard checked on a CPU whose oneDNN is wrong, and the route it chose. Routes are
/// decided per libtorch thread count (oneDNN picks its kernels by thread count too), so one shape can appear once per
/// thread count it ran at.
/// </summary>
/// <param name="Shape">The shape (batch 0: the route does not depend on it).</param>
/// <param name="Threads">libtorch's intra-op thread count when it was checked.</param>
/// <param name="Route">The route its convolutions take at that thread count.</param>
public readonly record struct CheckedConvolution(ConvolutionShape Shape, int Threads, ConvolutionRoute Route);
