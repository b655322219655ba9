using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using TailorPO.Core.Threading;

namespace TailorPO.Core.Tests.Threading;

/// <summary>
/// The canary of <see cref="FinalizerGate"/>'s bug, on the running machine, in a child process (the bug kills its process):
/// tools/TorchSharpFinalizerRace loops over <c>a.add(a.mul(0.5))</c> while a second thread allocates short-lived garbage,
/// as any busy host does. Without the gate (switched off by <c>TAILORPO_FINALIZER_GATE=0</c>) TorchSharp 0.107 frees an
/// operand under a native call and the process dies;
/// with the gate held around every 100 iterations (as the trainer holds it around an iteration) the same loop survives
/// thousands of collections. When the first test fails, TorchSharp keeps its operands alive: remove the gate.
/// </summary>
public class FinalizerGateCanaryTests
{
    [Fact]
    public void Without_the_gate_TorchSharp_frees_an_operand_under_a_native_call_and_the_process_dies()
    {
        // The loop takes the gate as in the second test, but TAILORPO_FINALIZER_GATE=0 turns it off: this also shows the switch works.
        var (exitCode, output) = RunRace(gateOff: true, "--allocator", "--gate", "--seconds", "120");
        Assert.True(exitCode != 0,
            "The race survived 120 s of collections with the gate switched off: either TorchSharp keeps its operands alive now (then " +
            $"FinalizerGate may go) or TAILORPO_FINALIZER_GATE=0 no longer switches it off. Output:\n{output}");
        // libtorch reads the freed alpha Scalar ("toFloat") or the process faults outright.
        Assert.True(output.Contains("toFloat", StringComparison.Ordinal) || exitCode is 134 or 139,
            $"The race died of something else (exit {exitCode}):\n{output}");
    }

    [Fact]
    public void With_the_gate_the_same_loop_survives_thousands_of_collections()
    {
        var (exitCode, output) = RunRace(gateOff: false, "--allocator", "--gate", "--seconds", "30");
        Assert.True(exitCode == 0, $"The race died with the gate held (exit {exitCode}):\n{output}");
        var collections = int.Parse(Regex.Match(output, @"(\d+) collections").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(collections >= 1000, $"Only {collections} collections ran, too few to have tested the gate:\n{output}");
    }

    private static (int ExitCode, string Output) RunRace(bool gateOff, params string[] args)
    {
        var tool = typeof(FinalizerGateCanaryTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "FinalizerRaceTool").Value!;
        Assert.True(File.Exists(tool), $"The race tool is not built: {tool}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(tool);
        foreach (var a in args) start.ArgumentList.Add(a);
        // The crash is expected: no dump or crash report of it in CI's crash folder.
        foreach (var name in new[] { "DOTNET_DbgEnableMiniDump", "DOTNET_EnableCrashReport", "DOTNET_DbgMiniDumpName", "DOTNET_DbgMiniDumpType" })
            start.Environment.Remove(name);
        if (gateOff) start.Environment["TAILORPO_FINALIZER_GATE"] = "0";
        else start.Environment.Remove("TAILORPO_FINALIZER_GATE");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The race tool did not end within 5 minutes.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
