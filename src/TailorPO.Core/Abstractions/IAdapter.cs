using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// Trainable weights attached to a frozen base model (LoRA and the like). With the adapter
/// disabled the model computes the base (reference) network, so preference methods need no second
/// copy of the UNet for pi_ref.
/// </summary>
public interface IAdapter
{
    /// <summary>The parameters an optimizer should update, by their module path (the base is frozen).</summary>
    IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> TrainableParameters { get; }

    /// <summary>Whether the adapter contributes to the model's output.</summary>
    bool Enabled { get; set; }

    /// <summary>Disables the adapter until the returned scope is disposed (then restores the previous state).</summary>
    IDisposable Disable();

    /// <summary>Writes the adapter weights (and their hyper-parameters as metadata) to a file, atomically.</summary>
    void Save(string path);

    /// <summary>Reads adapter weights written by <see cref="Save"/> (or a compatible tool) into this adapter.</summary>
    void Load(string path);
}
