using Microsoft.Extensions.Options;
using TailorPO.Core.Numerics;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Options;

/// <summary>
/// Validates <see cref="TailorPODiffusionOptions"/> at start without loading any weight: the folder
/// holds a readable model_index.json and its component folders, the dtypes are floating point, the
/// device parses and is available, the LoRA settings are in range and the adapter file exists.
/// Every failure is reported, each naming its knob.
/// </summary>
public sealed class TailorPODiffusionOptionsValidator : IValidateOptions<TailorPODiffusionOptions>
{
    private const string Prefix = "TailorPODiffusionOptions";

    private static readonly ScalarType[] FloatingTypes = [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64];

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TailorPODiffusionOptions options)
    {
        // The host validates options at start: the CPU numerics guard decides there, once per process (TorchNumerics).
        TorchNumerics.EnsureGuarded();
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        CheckFolder(options.ModelFolder, failures);
        CheckDType(options.DType, nameof(options.DType), failures);
        CheckDType(options.VaeDType, nameof(options.VaeDType), failures);
        CheckDevice(options.Device, failures);
        CheckLora(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckFolder(string? folder, List<string> failures)
    {
        const string knob = $"{Prefix}.{nameof(TailorPODiffusionOptions.ModelFolder)}";
        if (string.IsNullOrWhiteSpace(folder))
        {
            failures.Add($"{knob} is required: the diffusers Stable Diffusion folder holding model_index.json.");
            return;
        }

        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            failures.Add($"{knob} '{full}' does not exist.");
            return;
        }
        if (!File.Exists(Path.Combine(full, "model_index.json")))
        {
            failures.Add($"{knob} '{full}' holds no model_index.json: it is not a diffusers pipeline folder.");
            return;
        }

        ModelIndex index;
        try
        {
            index = ModelIndex.Load(full);
        }
        catch (Exception e) when (e is ModelConfigException or IOException or UnauthorizedAccessException)
        {
            failures.Add($"{knob} '{full}': {e.Message}");
            return;
        }

        var missing = index.LoadedComponents.Where(c => !Directory.Exists(Path.Combine(full, c))).ToList();
        if (missing.Count > 0)
            failures.Add($"{knob} '{full}' lacks the component folder(s) {string.Join(", ", missing)}.");
        else if (!File.Exists(Path.Combine(full, "scheduler", "scheduler_config.json")))
            failures.Add($"{knob} '{full}' lacks scheduler/scheduler_config.json.");
    }

    private static void CheckDType(ScalarType dtype, string name, List<string> failures)
    {
        if (!FloatingTypes.Contains(dtype))
            failures.Add($"{Prefix}.{name} is {dtype}; expected one of {string.Join(", ", FloatingTypes)}.");
    }

    private static void CheckDevice(string? text, List<string> failures)
    {
        const string knob = $"{Prefix}.{nameof(TailorPODiffusionOptions.Device)}";
        if (!DeviceNames.TryParse(text, out var device))
        {
            failures.Add($"{knob} '{text}' is not a device name; expected {DeviceNames.Expected}.");
            return;
        }
        if (device.type != DeviceType.CUDA) return;

        if (!cuda.is_available())
        {
            failures.Add($"{knob} is '{text}', but CUDA is not available (torch.cuda.is_available() is false): " +
                "add a CUDA backend package (libtorch-cuda-12.8-<os> or TorchSharp-cuda-<os>) and check the driver, or use \"cpu\".");
            return;
        }
        var count = cuda.device_count();
        if (device.index >= count)
            failures.Add($"{knob} is '{text}', but only {count} CUDA device(s) are visible (indices 0..{count - 1}).");
    }

    private static void CheckLora(TailorPODiffusionOptions options, List<string> failures)
    {
        if (options.Lora is { } lora)
        {
            try
            {
                lora.Validate();
            }
            catch (ArgumentException e)
            {
                // LoraConfig reports the first bad value; its message already names the field.
                var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
                failures.Add($"{Prefix}.{nameof(TailorPODiffusionOptions.Lora)}.{e.ParamName}: {message}");
            }
        }

        if (options.LoraAdapterPath is { } path)
        {
            const string knob = $"{Prefix}.{nameof(TailorPODiffusionOptions.LoraAdapterPath)}";
            if (string.IsNullOrWhiteSpace(path))
                failures.Add($"{knob} is empty; set null for no adapter file.");
            else if (!File.Exists(path))
                failures.Add($"{knob} '{Path.GetFullPath(path)}' does not exist.");
        }
    }
}
