using System.Text.Json.Serialization;

namespace TailorPO.Training.Guarding;

/// <summary>What a row of the guard's history records.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<GoldMetricEvent>))]
public enum GoldMetricEvent
{
    /// <summary>The reading before the first iteration (images = 0); it is the first best.</summary>
    Baseline,

    /// <summary>A reading that is neither a new best nor suspicious.</summary>
    Evaluated,

    /// <summary>A reading with a gold value above every earlier one: its adapters are kept.</summary>
    NewBest,

    /// <summary>The proxy rose while the gold fell (beyond the tolerance), fewer times in a row than the patience.</summary>
    Diverging,

    /// <summary>The proxy rose while the gold fell for the patience's count of evaluations in a row: training stops.</summary>
    Stopped,

    /// <summary>The best adapters were restored (the row carries the best reading's values).</summary>
    RestoredBest,
}
