namespace TailorPO.Labeling.Storage;

/// <summary>Bad input to the labelling app (a database, a prompts file, a folder): the message says what was wrong and what to do.</summary>
internal sealed class LabelingException(string message, Exception? inner = null) : Exception(message, inner);
