namespace TailorPO.Core.Threading;

/// <summary>
/// The library's one cancellation contract for the <c>Async</c> forms of long synchronous TorchSharp work
/// (<c>StableDiffusionPipeline.GenerateAsync</c>, <c>PreferenceTrainer.TrainAsync</c>): the work runs on one worker
/// thread (TorchSharp dispose scopes are per thread); a token cancelled before it starts gives a cancelled task without
/// running anything; a cancellation the work observes (between its steps) ends the task cancelled as well. Either way
/// the task's <see cref="Task.IsCanceled"/> is true and awaiting it throws <see cref="OperationCanceledException"/>.
/// </summary>
public static class CancellableWork
{
    /// <summary>Runs <paramref name="work"/> on a worker thread under the contract above.</summary>
    /// <typeparam name="T">The work's result.</typeparam>
    /// <param name="work">The synchronous work; it checks the token it is given between its steps.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The task of the work: completed with its result, faulted with its exception, or cancelled.</returns>
    public static Task<T> RunAsync<T>(Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (cancellationToken.IsCancellationRequested)
            return Task.FromCanceled<T>(cancellationToken);
        return Task.Run(() =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return work(cancellationToken);
            }
            catch (OperationCanceledException cancelled) when (cancellationToken.IsCancellationRequested && cancelled.CancellationToken != cancellationToken)
            {
                // A cancellation raised through another token (a linked one, a callee's) still ends the task cancelled, not faulted.
                throw new OperationCanceledException(cancelled.Message, cancelled, cancellationToken);
            }
        }, cancellationToken);
    }
}
