namespace TailorPO.Diffusion.Pipelines;

/// <summary>Progress of a generation: <paramref name="Step"/> of <paramref name="TotalSteps"/> denoising steps done.</summary>
/// <param name="Step">Steps completed (1-based after the first step).</param>
/// <param name="TotalSteps">All steps.</param>
/// <param name="Timestep">The timestep just denoised.</param>
public sealed record GenerationProgress(int Step, int TotalSteps, long Timestep);
