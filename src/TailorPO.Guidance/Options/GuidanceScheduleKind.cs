namespace TailorPO.Guidance.Options;

/// <summary>Which eta_t schedule the guidance uses.</summary>
public enum GuidanceScheduleKind
{
    /// <summary>The paper's cosine schedule from <see cref="TailorPOGuidanceOptions.EtaMin"/> to <see cref="TailorPOGuidanceOptions.EtaMax"/> (<see cref="Schedules.CosineGuidanceSchedule"/>).</summary>
    Cosine,

    /// <summary><see cref="TailorPOGuidanceOptions.ConstantEta"/> at every step (<see cref="Schedules.ConstantGuidanceSchedule"/>).</summary>
    Constant,
}
