using TailorPO.Training.Checkpoints;

namespace TailorPO.Training.Tests;

/// <summary>
/// The crash-consistency tests' hook (TAILORPO_TEST_CRASH_AT) is inert when the variable is unset, which every real run
/// is, and a value it does not understand fails instead of silently never killing. (The kills themselves:
/// TailorPO.Samples.Tests' CrashConsistencyTests.)
/// </summary>
public sealed class CrashTestHookTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Unset_or_blank_names_no_point(string? value) => Assert.Null(CrashTestHook.Parse(value));

    [Theory]
    [InlineData("before-first-checkpoint", CrashTestHook.BeforeFirstCheckpoint, 1)]
    [InlineData("between-swap-renames", CrashTestHook.BetweenSwapRenames, 1)]
    [InlineData("after-metrics-line:21", CrashTestHook.AfterMetricsLine, 21)]
    public void A_point_with_an_optional_occurrence_is_read(string value, string point, int occurrence) =>
        Assert.Equal((point, occurrence), CrashTestHook.Parse(value));

    [Theory]
    [InlineData("after-metrics-lines")]
    [InlineData("after-metrics-line:0")]
    [InlineData("after-metrics-line:x")]
    public void A_value_it_does_not_understand_is_refused_naming_the_variable(string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => CrashTestHook.Parse(value));
        Assert.Contains($"{CrashTestHook.Variable} = '{value}'", ex.Message);
    }

    [Fact]
    public void Unset_in_the_test_process_reaching_a_point_does_nothing()
    {
        Assert.Null(Environment.GetEnvironmentVariable(CrashTestHook.Variable));
        CrashTestHook.Reach(CrashTestHook.AfterMetricsLine); // still alive
    }
}
