namespace TailorPO.Core.Numerics;

/// <summary>How much <see cref="TorchNumerics.Verify"/> checks.</summary>
public enum NumericsCheckDepth
{
    /// <summary>The self-check: a few convolutions, GroupNorm, linear and attention, float32 and bfloat16 (tens of milliseconds).</summary>
    Quick,

    /// <summary>Every op the models use (convolution grid, group/layer norm, linear, bmm, attention, GELU, SiLU, upsampling) at 1 and 2 threads (seconds).</summary>
    Sweep,
}
