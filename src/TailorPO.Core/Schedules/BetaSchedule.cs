namespace TailorPO.Core.Schedules;

/// <summary>How the training betas are laid out (diffusers' <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary><c>linear</c>: <c>linspace(beta_start, beta_end, N)</c> in float32.</summary>
    Linear,

    /// <summary><c>scaled_linear</c>: <c>linspace(sqrt(beta_start), sqrt(beta_end), N)^2</c> in float32 (Stable Diffusion v1.x/v2.x).</summary>
    ScaledLinear,

    /// <summary><c>squaredcos_cap_v2</c>: the Glide / improved-DDPM cosine schedule, betas capped at 0.999.</summary>
    SquaredCosCapV2,
}
