using System.Text.Json;
using TailorPO.TestUtilities;

namespace TailorPO.Reproduction.Tests;

/// <summary>statistics/statistics.json: SciPy's values (tests/fixtures/statistics/generate.py).</summary>
internal static class StatisticsFixture
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(FixtureRoot.Combine("statistics", "statistics.json"))).RootElement);

    public static IEnumerable<JsonElement> Cases(string name) => Root.Value.GetProperty(name).EnumerateArray();

    public static double[] Doubles(this JsonElement element, string name) => element.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static double Double(this JsonElement element, string name) => element.GetProperty(name).GetDouble();

    /// <summary>Asserts |actual - expected| &lt;= tolerance x max(1, |expected|) with a message naming the case.</summary>
    public static void Close(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Max(1e-300, Math.Abs(expected)) || Math.Abs(actual - expected) <= tolerance * 1e-3,
            $"{what}: expected {expected:R}, got {actual:R} (difference {actual - expected:G3})");
}
