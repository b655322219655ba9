// The samples CLI: pretrain / generate / evaluate (align and compare join later).
// Run `dotnet run --project samples/TailorPO.Samples -c Release -- --help` for the commands.
return await TailorPO.Samples.Cli.CliApplication.RunAsync(args).ConfigureAwait(false);
