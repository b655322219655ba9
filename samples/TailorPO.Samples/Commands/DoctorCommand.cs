using System.ComponentModel;
using System.Globalization;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Core.Numerics;
using TailorPO.Samples.Cli;
using static TorchSharp.torch;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>doctor</c>.</summary>
public sealed class DoctorSettings : GlobalSettings
{
    /// <summary>Run the full sweep instead of the quick self-check.</summary>
    [CommandOption("--sweep")]
    [Description("Check every op the models use (convolution grid, group/layer norm, linear, bmm, attention, GELU, SiLU, upsampling) " +
                 "in float32 and bfloat16 at 1 and 2 threads, and show libtorch's raw convolution where the guard routes around it (seconds).")]
    public bool Sweep { get; init; }
}

/// <summary>
/// <c>doctor</c>: the CPU, libtorch, oneDNN and thread settings, the numerics guard's decision and the self-check of
/// every op on the path this process uses. Exit code 0 when every check passes, 1 when one does not.
/// </summary>
public sealed class DoctorCommand(IAnsiConsole console) : Command<DoctorSettings>
{
    /// <inheritdoc />
    public override int Execute(CommandContext context, DoctorSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        set_num_threads(settings.EffectiveThreads);
        if (settings.ConvolutionPolicy is { } policy) TorchNumerics.Configure(policy);
        var report = TorchNumerics.Verify(settings.Sweep ? NumericsCheckDepth.Sweep : NumericsCheckDepth.Quick, throwOnFailure: false);
        var decision = report.Decision;
        console.WriteLine($"CPU:       {decision.Cpu}");
        console.WriteLine($"libtorch:  TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, oneDNN {report.OneDnnVersion ?? "(version not readable here)"}");
        console.WriteLine($"Threads:   {report.Threads} intra-op, {get_num_interop_threads()} interop; OMP_NUM_THREADS={Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "(unset)"}");
        console.WriteLine($"Guard:     {decision.Summary}");
        foreach (var failure in decision.CanaryFailures) console.WriteLine($"           oneDNN canary wrong: {failure}");
        var table = new Table().AddColumns("", "op", "dtype", "threads", "path", "relative error", "tolerance");
        foreach (var check in report.Checks)
            table.AddRow(check.Passed ? "[green]ok[/]" : check.Informational ? "[yellow]wrong, not used[/]" : "[red]FAIL[/]",
                Markup.Escape(check.Operation), check.Dtype.ToString(), check.Threads.ToString(CultureInfo.InvariantCulture), Markup.Escape(check.Path),
                check.RelativeError.ToString("E2", CultureInfo.InvariantCulture), check.Tolerance.ToString("E0", CultureInfo.InvariantCulture));
        console.Write(table);
        console.WriteLine($"Self-check: {report.Checks.Count(c => c.Passed || c.Informational)} of {report.Checks.Count} checks pass in {report.ElapsedMilliseconds:F0} ms.");
        if (TorchNumerics.CheckedShapes.Count > 0)
        {
            console.WriteLine("Convolution shapes checked on this CPU (oneDNN is wrong here):");
            foreach (var (shape, threads, route) in TorchNumerics.CheckedShapes)
                console.WriteLine($"  {shape.In}->{shape.Out} k{shape.Kernel} s{shape.Stride} p{shape.Padding} at {shape.Height}x{shape.Width}, {threads} thread(s): {route}");
        }
        if (report.Passed)
        {
            console.MarkupLine("[green]Every op on the path in use matches float64.[/]");
            return ExitCodes.Success;
        }
        console.MarkupLine("[red]" + Markup.Escape(new NumericsCheckException(report).Message) + "[/]");
        return ExitCodes.Failure;
    }
}
