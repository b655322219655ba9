namespace TailorPO.Core.Schedules;

/// <summary>
/// <c>torch.linspace(start, end, steps, dtype=float32)</c> exactly as the CPU kernel that produced the
/// diffusers reference values computes it (torch 1.13, AVX2): step = (end - start) / (steps - 1) in
/// float32; the first half counts up from start, the second half down from end; the kernel fills
/// 8-lane vectors whose base is start + step * idx (or end - step * (steps - idx - 1)) and whose lanes
/// add step * j, with fused multiply-adds, and finishes the last elements one by one. Other libtorch
/// builds (e.g. the 2.x kernels) differ from it by at most 2 ulp; reproducing this one makes betas and
/// alphas_cumprod bit-identical to a diffusers run instead of depending on the libtorch in use.
/// </summary>
internal static class Float32Linspace
{
    private const int Lanes = 8;

    public static float[] Compute(double start, double end, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Argument 'steps' must be >= 1.");
        var first = (float)start;
        var last = (float)end;
        var values = new float[steps];
        if (steps == 1)
        {
            values[0] = first;
            return values;
        }

        var step = (last - first) / (steps - 1);
        var halfway = steps / 2;
        float At(long idx) => idx < halfway
            ? MathF.FusedMultiplyAdd(step, idx, first)
            : MathF.FusedMultiplyAdd(-step, steps - idx - 1, last);

        var i = 0;
        for (; i <= steps - 2 * Lanes; i += Lanes)
        {
            var vectorBase = At(i);
            for (var j = 0; j < Lanes; j++)
                values[i + j] = MathF.FusedMultiplyAdd(step, j, vectorBase);
        }
        for (; i < steps; i++)
            values[i] = At(i);
        return values;
    }
}
