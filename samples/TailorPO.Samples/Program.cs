// The samples CLI: align (the main job), compare (docs/results.md), generate, evaluate, doctor (CPU numerics), pretrain.
// Run `dotnet run --project samples/TailorPO.Samples -c Release -- --help` for the commands.
return await TailorPO.Samples.Cli.CliApplication.RunAsync(args).ConfigureAwait(false);
