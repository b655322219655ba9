// The reproduction harness behind docs/results.md (also the samples CLI's `compare`):
//   dotnet run --project samples/TailorPO.Reproduction -c Release -- [--quick] [--output docs] [--work runs/compare-full] [--threads N]
using Spectre.Console;
using TailorPO.Reproduction;

return await ReproductionProgram.RunAsync(args, AnsiConsole.Console).ConfigureAwait(false);
