using TailorPO.Labeling.Cli;
using TailorPO.Labeling.Storage;

// dotnet run --project samples/TailorPO.Labeling -- [serve] --model embedded --prompts prompts.txt   (docs/human-preferences.md)
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };
try
{
    return await LabelingCommands.RunAsync(CommandLine.Parse(args), Console.Out, cancellation.Token);
}
catch (LabelingException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 2;
}
catch (OperationCanceledException)
{
    return 130;
}
