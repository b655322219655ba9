using BenchmarkDotNet.Running;

// BenchmarkDotNet's generated projects do not copy the libtorch natives, so every suite runs
// in-process (see InProcessConfig).
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new TailorPO.Benchmarks.InProcessConfig());
