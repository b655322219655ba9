namespace TailorPO.Training.Methods;

/// <summary>A method name registered with <c>AddMethod</c> (the container's list of them, for error messages).</summary>
/// <param name="Name">The registered name.</param>
public sealed record TrainingMethodRegistration(string Name);
