using TailorPO.Core.Abstractions;
using TailorPO.Core.Threading;
using static TorchSharp.torch;

namespace TailorPO.Reproduction.Measuring;

/// <summary>
/// Denoises a batch from a given step to the end (no gradient) and records, with several rewards at once, the step
/// reward r(c, D(x0_hat(x))) of the input of every step and the reward of the final image - the measurements of
/// sections 2 and 4. x0_hat is the one the sampler computes for its own step, so probing costs no extra model call.
/// </summary>
public sealed class TrajectoryProbe(ISampler sampler, ILatentDecoder decoder, IReadOnlyList<IRewardModel> rewards)
{
    /// <summary>The sampler.</summary>
    public ISampler Sampler => sampler;

    /// <summary>
    /// Denoises <paramref name="latents"/> (the input of step <paramref name="start"/>) to x_0.
    /// </summary>
    /// <param name="latents">[B, C, H, W] at the noise level of step <paramref name="start"/>.</param>
    /// <param name="start">The first step index to run (Timesteps.Count: nothing to run, the latents are final).</param>
    /// <param name="condition">B prompts.</param>
    /// <param name="generator">The sampling noise.</param>
    /// <param name="keepInputs">Also return the input latents of every step (detached copies the caller disposes).</param>
    /// <param name="scoreSteps">
    /// Score every step's x0_hat (false: only the final images; <see cref="ProbeRollout.Rows"/> then holds the final row only).
    /// Decoding and scoring every step costs more than the denoising itself, and Monte-Carlo continuations need only their ends.
    /// </param>
    public ProbeRollout Run(Tensor latents, int start, DiffusionCondition condition, Generator generator, bool keepInputs = false, bool scoreSteps = true)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(condition);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var steps = sampler.Timesteps.Count;
        var rows = new List<double[][]>(); // [row][reward][b]
        var inputs = new List<Tensor>();
        var x = latents;
        for (var s = start; s < steps; s++)
        {
            using var gate = FinalizerGate.Close(); // no operand freed under a native call (TorchSharp 0.107)
            if (keepInputs) inputs.Add(x.detach().clone().DetachFromDisposeScope());
            var step = sampler.Step(x, s, condition, 1, generator);
            if (scoreSteps) rows.Add(Score(step.PredictedOriginal, condition.Prompts));
            x = step.Candidates[0];
        }
        using (FinalizerGate.Close())
            rows.Add(Score(x, condition.Prompts));
        return new ProbeRollout(inputs, rows);
    }

    private double[][] Score(Tensor latents, IReadOnlyList<string> prompts)
    {
        using var scope = NewDisposeScope();
        var images = decoder.DecodeToImages(latents);
        return rewards.Select(r => r.Score(images, prompts).to_type(ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();
    }
}

/// <summary>The measurements of one <see cref="TrajectoryProbe.Run"/>.</summary>
/// <param name="Inputs">The input latents of every step run (empty unless kept); dispose them.</param>
/// <param name="Rows">[row][reward][b]: row r is the step reward of the input of step start + r; the last row is the final reward (the only one when steps were not scored).</param>
public sealed record ProbeRollout(IReadOnlyList<Tensor> Inputs, IReadOnlyList<double[][]> Rows) : IDisposable
{
    /// <summary>The final rewards [reward][b].</summary>
    public double[][] Final => Rows[^1];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Inputs) t.Dispose();
    }
}
