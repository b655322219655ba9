using BenchmarkDotNet.Running;

// BenchmarkDotNet's generated projects do not copy the libtorch natives, so every suite runs
// in-process: --inProcess turns whichever job the command line selects (--job Dry/Short/...)
// into an in-process one (see InProcessConfig).
var arguments = args.Any(a => a.Equals("--inProcess", StringComparison.OrdinalIgnoreCase) || a == "-i")
    ? args
    : [.. args, "--inProcess"];
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(arguments, new TailorPO.Benchmarks.InProcessConfig());
