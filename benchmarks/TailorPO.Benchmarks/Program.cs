using BenchmarkDotNet.Running;

// BenchmarkDotNet's generated projects do not copy the libtorch natives, so every job runs in-process:
// --inProcess applies the in-process toolchain to the job chosen on the command line (or the default one).
var inProcessArgs = args.Contains("--inProcess") || args.Contains("-i") ? args : [.. args, "--inProcess"];
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(inProcessArgs, new TailorPO.Benchmarks.InProcessConfig());
