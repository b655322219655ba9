namespace TailorPO.Training.Methods;

/// <summary>
/// The collect-then-train loop the batch methods share: sample <c>CollectBatches</c> batches with the current weights
/// (the first with the iteration's prompts, the rest from the run's cursor), then train on every stored item in
/// <c>InnerEpochs</c> passes, each in an order drawn from the run generator. Stored items are disposed at the end,
/// also on cancellation.
/// </summary>
internal static class CollectThenTrain
{
    public static void Run<TItem>(TrainerContext context, IReadOnlyList<string> prompts, Action<IReadOnlyList<string>, List<TItem>> collect,
        Action<TItem> train, CancellationToken cancellationToken) where TItem : IDisposable
    {
        var stored = new List<TItem>();
        try
        {
            for (var b = 0; b < context.Options.CollectBatches; b++)
                collect(b == 0 ? prompts : context.NextPrompts(), stored);
            for (var epoch = 0; epoch < context.Options.InnerEpochs; epoch++)
                foreach (var index in context.Shuffle(stored.Count))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    train(stored[index]);
                }
        }
        finally
        {
            foreach (var item in stored) item.Dispose();
        }
    }
}
