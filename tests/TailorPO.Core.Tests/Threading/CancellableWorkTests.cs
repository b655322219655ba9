using TailorPO.Core.Threading;

namespace TailorPO.Core.Tests.Threading;

/// <summary>The cancellation contract GenerateAsync and TrainAsync share.</summary>
public sealed class CancellableWorkTests
{
    [Fact]
    public async Task A_token_cancelled_before_the_start_gives_a_cancelled_task_and_runs_nothing()
    {
        var ran = false;
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        var task = CancellableWork.RunAsync(_ => ran = true, cancellation.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.False(ran);
    }

    [Fact]
    public async Task A_cancellation_the_work_observes_ends_the_task_cancelled_after_the_step_it_was_in()
    {
        using var cancellation = new CancellationTokenSource();
        var steps = 0;

        var task = CancellableWork.RunAsync(token =>
        {
            for (var step = 0; step < 100; step++)
            {
                token.ThrowIfCancellationRequested();
                if (++steps == 3) cancellation.Cancel();
            }
            return steps;
        }, cancellation.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.Equal(3, steps);
    }

    [Fact]
    public async Task A_cancellation_raised_through_a_linked_token_also_ends_the_task_cancelled_not_faulted()
    {
        using var cancellation = new CancellationTokenSource();

        var task = CancellableWork.RunAsync<int>(token =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token);
            cancellation.Cancel();
            linked.Token.ThrowIfCancellationRequested();
            return 0;
        }, cancellation.Token);

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.Equal(cancellation.Token, error.CancellationToken);
    }

    [Fact]
    public async Task The_result_and_any_other_exception_pass_through_unchanged()
    {
        Assert.Equal(42, await CancellableWork.RunAsync(_ => 42, CancellationToken.None));

        var task = CancellableWork.RunAsync<int>(_ => throw new InvalidDataException("bad file"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => task);
        Assert.True(task.IsFaulted);
        Assert.Equal("bad file", error.Message);
    }
}
