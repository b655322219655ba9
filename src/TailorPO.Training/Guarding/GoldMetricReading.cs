namespace TailorPO.Training.Guarding;

/// <summary>One reading of an <see cref="IGoldMetric"/>.</summary>
/// <param name="Gold">The gold value (higher is better), e.g. the fraction of held-out images an exact measurer judges right.</param>
/// <param name="Proxy">The training reward's mean on the same held-out images.</param>
public sealed record GoldMetricReading(double Gold, double Proxy)
{
    /// <summary>The gold value's standard error, or NaN when unknown.</summary>
    public double GoldStandardError { get; init; } = double.NaN;

    /// <summary>The proxy value's standard error, or NaN when unknown.</summary>
    public double ProxyStandardError { get; init; } = double.NaN;
}
