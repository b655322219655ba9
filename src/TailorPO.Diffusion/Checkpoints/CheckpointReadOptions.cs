namespace TailorPO.Diffusion.Checkpoints;

/// <summary>How checkpoint files may be read.</summary>
public sealed record CheckpointReadOptions
{
    /// <summary>
    /// Reader for pickle checkpoints. Null (the default) refuses them with
    /// <see cref="UnsafeCheckpointException"/>; setting it is the caller's explicit opt-in.
    /// </summary>
    public IPickleCheckpointLoader? PickleLoader { get; init; }
}
