using BenchmarkDotNet.Running;
using TailorPO.Benchmarks;

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
