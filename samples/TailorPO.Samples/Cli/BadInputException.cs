namespace TailorPO.Samples.Cli;

/// <summary>Input found unusable once work has started (e.g. a LoRA file whose shapes do not fit the model).</summary>
public sealed class BadInputException(string message, Exception? inner = null) : Exception(message, inner);
