namespace TailorPO.Diffusion.Lora;

/// <summary>
/// LoRA hyper-parameters (PEFT's <c>LoraConfig</c> subset that SD fine-tuning uses). The update of a
/// targeted Linear is <c>Scale * (Alpha / Rank) * B @ A</c>.
/// </summary>
public sealed record LoraConfig
{
    /// <summary>The default targets: the four attention projections of the UNet.</summary>
    public static readonly IReadOnlyList<string> AttentionProjections = ["to_q", "to_k", "to_v", "to_out.0"];

    /// <summary>The rank r (the paper, DDPO and D3PO use 4).</summary>
    public int Rank { get; init; } = 4;

    /// <summary>alpha; null means alpha = rank (scaling 1, as diffusers' LoRA training scripts set it).</summary>
    public double? Alpha { get; init; }

    /// <summary>
    /// Module names to adapt: a layer is targeted when its path equals a target or ends with
    /// "." + target (PEFT's rule), e.g. "to_q" or "attn2.to_k".
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = AttentionProjections;

    /// <summary>Dropout on the adapter input during training (PEFT's lora_dropout).</summary>
    public double Dropout { get; init; }

    /// <summary>The alpha actually used.</summary>
    public double EffectiveAlpha => Alpha ?? Rank;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Rank < 1) throw new ArgumentException($"LoraConfig.Rank must be at least 1; got {Rank}.", nameof(Rank));
        if (Alpha is double a && (!double.IsFinite(a) || a <= 0)) throw new ArgumentException($"LoraConfig.Alpha must be positive; got {a}.", nameof(Alpha));
        if (TargetModules is null || TargetModules.Count == 0 || TargetModules.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("LoraConfig.TargetModules must name at least one module, without empty entries.", nameof(TargetModules));
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"LoraConfig.Dropout must be in [0, 1); got {Dropout}.", nameof(Dropout));
    }

    /// <summary>True when the module at <paramref name="path"/> is a target.</summary>
    public bool Targets(string path) =>
        TargetModules.Any(t => path == t || path.EndsWith("." + t, StringComparison.Ordinal));
}
