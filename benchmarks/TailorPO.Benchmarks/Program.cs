using BenchmarkDotNet.Running;
using TailorPO.Benchmarks;

// "--paired [--pairs N] [--suite unet|loss|rewards|all]" runs the floor benchmarks as alternating pairs
// instead (PairedFloorRunner): steadier ratios on a machine whose load drifts.
if (args.Length > 0 && args[0] == "--paired")
    return PairedFloorRunner.Run(args[1..]);

// "--loader-memory write|load <folder> [dtype]": the model loader's peak-RSS/time measurement (LoaderMemoryCommand).
if (args.Length > 0 && args[0] == "--loader-memory")
    return LoaderMemoryCommand.Run(args[1..]);

// "--conv-cost [--latent 32,64] [--reps N]": what the CPU numerics guard costs a routed convolution (ConvolutionCostCommand).
if (args.Length > 0 && args[0] == "--conv-cost")
    return ConvolutionCostCommand.Run(args[1..]);

// "--job <default|dry|short|medium|long>" is read here, not by BenchmarkDotNet: its own --job adds
// an out-of-process job next to ours, and that one cannot load libtorch. Every other argument
// (--filter, --list, ...) goes to BenchmarkDotNet unchanged.
var rest = new List<string>();
var job = InProcessConfig.Jobs["default"];
for (int i = 0; i < args.Length; i++)
{
    if (args[i] is "--job" or "-j")
    {
        if (i + 1 >= args.Length || !InProcessConfig.Jobs.TryGetValue(args[i + 1], out job))
        {
            Console.Error.WriteLine($"--job takes one of: {string.Join(", ", InProcessConfig.Jobs.Keys)}.");
            return 2;
        }
        i++;
        continue;
    }
    rest.Add(args[i]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. rest], new InProcessConfig(job));
return 0;
