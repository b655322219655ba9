namespace TailorPO.Core.Numerics;

/// <summary>What the numerics guard decided for this process, and why (<see cref="TorchNumerics.EnsureGuarded"/>).</summary>
/// <param name="Policy">The policy in force (<see cref="TorchNumerics.PolicyEnvironmentVariable"/>, the code, or the default).</param>
/// <param name="PolicySource">Where the policy came from: "default", "environment" or "code".</param>
/// <param name="OneDnnRight">
/// Whether libtorch's oneDNN convolutions matched the float64 reference on this CPU's canaries; null when not checked
/// (policy <see cref="ConvolutionPathPolicy.OneDnn"/> or <see cref="ConvolutionPathPolicy.Reference"/>).
/// </param>
/// <param name="CanaryFailures">The canaries oneDNN got wrong (shape, threads, relative error); empty when none.</param>
/// <param name="Cpu">The processor.</param>
/// <param name="NnpackDisabled">Whether NNPACK was turned off because it cannot run on this CPU.</param>
/// <param name="CheckMilliseconds">How long the start-up check took.</param>
public sealed record NumericsDecision(
    ConvolutionPathPolicy Policy,
    string PolicySource,
    bool? OneDnnRight,
    IReadOnlyList<string> CanaryFailures,
    CpuDescription Cpu,
    bool NnpackDisabled,
    double CheckMilliseconds)
{
    /// <summary>Whether some convolutions are (or may be) sent through the reference path.</summary>
    public bool RoutesConvolutions => Policy == ConvolutionPathPolicy.Reference || OneDnnRight == false;

    /// <summary>One line: the path chosen and why.</summary>
    public string Summary => Policy switch
    {
        ConvolutionPathPolicy.OneDnn => $"CPU convolutions: oneDNN, unchecked ({TorchNumerics.PolicyEnvironmentVariable}=onednn from the {PolicySource}) on {Cpu}.",
        ConvolutionPathPolicy.Reference => $"CPU convolutions: the im2col reference path for every convolution ({TorchNumerics.PolicyEnvironmentVariable}=reference from the {PolicySource}) on {Cpu}.",
        _ when OneDnnRight == true => $"CPU convolutions: oneDNN, checked right on {Cpu} ({CheckMilliseconds:F0} ms).",
        _ => $"CPU convolutions: oneDNN is WRONG on {Cpu} ({CanaryFailures.Count} of the start-up canaries, e.g. {CanaryFailures.FirstOrDefault()}); " +
             $"each convolution shape is checked at first use and those oneDNN gets wrong run through the im2col reference path ({CheckMilliseconds:F0} ms).",
    } + (NnpackDisabled ? " NNPACK cannot run on this CPU: turned off." : "");
}
