namespace TailorPO.Core.Numerics;

/// <summary>One 2-D convolution problem: batch, channels, square kernel, stride, padding and input size.</summary>
/// <param name="Batch">Batch size.</param>
/// <param name="In">Input channels.</param>
/// <param name="Out">Output channels.</param>
/// <param name="Kernel">Kernel height and width.</param>
/// <param name="Stride">Stride.</param>
/// <param name="Padding">Zero padding on every side.</param>
/// <param name="Height">Input height.</param>
/// <param name="Width">Input width.</param>
public readonly record struct ConvolutionShape(long Batch, long In, long Out, long Kernel, long Stride, long Padding, long Height, long Width)
{
    /// <summary>Output height.</summary>
    public long OutHeight => (Height + 2 * Padding - Kernel) / Stride + 1;

    /// <summary>Output width.</summary>
    public long OutWidth => (Width + 2 * Padding - Kernel) / Stride + 1;

    /// <inheritdoc />
    public override string ToString() => $"[{Batch},{In},{Height},{Width}] {In}->{Out} k{Kernel} s{Stride} p{Padding}";
}
