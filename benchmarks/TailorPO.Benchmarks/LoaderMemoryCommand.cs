using System.Diagnostics;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.UNet;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// The loader's memory/time measurement (issue 11, item 11): SD v1.5's UNet config with random weights
/// written to a folder, then loaded by <c>UNet2DConditionModel.FromPretrained</c> in a process of its own, so
/// that <c>/usr/bin/time -v</c> reports the load's peak RSS and wall time alone:
/// <code>
/// dotnet run -c Release --project benchmarks/TailorPO.Benchmarks -- --loader-memory write /tmp/sd15-unet
/// OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE /usr/bin/time -v dotnet benchmarks/TailorPO.Benchmarks/bin/Release/net10.0/TailorPO.Benchmarks.dll --loader-memory load /tmp/sd15-unet float16
/// </code>
/// The weights are written in float32 (3.44 GB); delete the folder afterwards.
/// </summary>
public static class LoaderMemoryCommand
{
    private const string Usage = "--loader-memory write <folder> | --loader-memory load <folder> [float32|float16|bfloat16]";

    /// <summary>Runs <c>write</c> or <c>load</c>; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        if (args.Length < 2 || args[0] is not ("write" or "load") || (args[0] == "write" && args.Length != 2) || args.Length > 3)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var folder = Path.GetFullPath(args[1]);
        if (args[0] == "write")
        {
            Write(folder);
            return 0;
        }
        var dtype = args.Length == 3 ? ParseDType(args[2]) : ScalarType.Float32;
        if (dtype is null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        Load(folder, dtype.Value);
        return 0;
    }

    private static ScalarType? ParseDType(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" => ScalarType.Float32,
        "float16" or "fp16" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => null,
    };

    private static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        manual_seed(0);
        using var model = new UNet2DConditionModel(UNetConfigs.StableDiffusionV15);
        File.WriteAllText(Path.Combine(folder, "config.json"), model.Config.ToJson());
        var path = Path.Combine(folder, UNet2DConditionModel.WeightFileName);
        SafetensorsWriter.Save(path, model.state_dict());
        Console.WriteLine($"Wrote {path}: {model.parameters().Sum(p => p.numel()):N0} parameters, {new FileInfo(path).Length:N0} bytes.");
    }

    private static void Load(string folder, ScalarType dtype)
    {
        var clock = Stopwatch.StartNew();
        using var model = UNet2DConditionModel.FromPretrained(folder, new ModelLoadOptions { DType = dtype });
        clock.Stop();
        long parameters = model.parameters().Sum(p => p.numel());
        long bytes = model.parameters().Sum(p => p.numel() * p.ElementSize);
        Console.WriteLine($"Loaded {parameters:N0} parameters as {dtype} ({bytes:N0} bytes) in {clock.Elapsed.TotalSeconds:F1} s.");
    }
}
