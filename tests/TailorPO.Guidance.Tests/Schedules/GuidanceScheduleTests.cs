using TailorPO.Guidance.Schedules;

namespace TailorPO.Guidance.Tests.Schedules;

public class GuidanceScheduleTests
{
    [Theory]
    [InlineData(20)]
    [InlineData(5)]
    public void Cosine_schedule_runs_from_min_at_the_first_step_to_max_at_the_last_and_never_decreases(int steps)
    {
        var schedule = new CosineGuidanceSchedule();
        Assert.Equal(0.1, schedule.EtaAt(0, steps), 1e-15);
        Assert.Equal(0.2, schedule.EtaAt(steps - 1, steps), 1e-15);
        for (var i = 1; i < steps; i++)
            Assert.True(schedule.EtaAt(i, steps) >= schedule.EtaAt(i - 1, steps));
    }

    [Fact]
    public void Cosine_schedule_follows_the_half_cosine_between_its_ends()
    {
        var schedule = new CosineGuidanceSchedule(0.1, 0.3);
        Assert.Equal(0.2, schedule.EtaAt(2, 5), 1e-15); // midpoint
        Assert.Equal(0.1 + 0.2 * (1 - Math.Cos(Math.PI / 4)) / 2, schedule.EtaAt(1, 5), 1e-15);
        Assert.Equal(0.3, schedule.EtaAt(0, 1), 1e-15);
    }

    [Fact]
    public void Constant_schedule_is_constant()
    {
        var schedule = new ConstantGuidanceSchedule(0.12);
        Assert.Equal(0.12, schedule.EtaAt(0, 20));
        Assert.Equal(0.12, schedule.EtaAt(19, 20));
    }

    [Fact]
    public void Invalid_bounds_and_step_indices_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineGuidanceSchedule(0, 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineGuidanceSchedule(0.3, 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineGuidanceSchedule(0.1, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantGuidanceSchedule(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineGuidanceSchedule().EtaAt(20, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantGuidanceSchedule(0.1).EtaAt(0, 0));
    }
}
