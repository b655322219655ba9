// The samples CLI: align (the main job), compare (docs/results.md), generate, evaluate, doctor (CPU numerics), pretrain.
// Run `dotnet run --project samples/TailorPO.Samples -c Release -- --help` for the commands.
// glibc keeps freed tensor memory; trimming its heaps every 5 s keeps the main job under 1 GB (docs/performance.md).
using var trimmer = TailorPO.Samples.Cli.NativeHeapTrimmer.Start(TimeSpan.FromSeconds(5));
return await TailorPO.Samples.Cli.CliApplication.RunAsync(args).ConfigureAwait(false);
