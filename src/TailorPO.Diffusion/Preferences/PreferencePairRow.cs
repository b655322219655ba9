namespace TailorPO.Diffusion.Preferences;

/// <summary>One line of a preference-pair CSV: the prompt and the full paths of its preferred and dis-preferred images.</summary>
/// <param name="Line">1-based line number in the CSV (for error messages).</param>
/// <param name="Prompt">The prompt both images were generated for.</param>
/// <param name="Preferred">Full path of the preferred image.</param>
/// <param name="Dispreferred">Full path of the dis-preferred image.</param>
public sealed record PreferencePairRow(int Line, string Prompt, string Preferred, string Dispreferred);
