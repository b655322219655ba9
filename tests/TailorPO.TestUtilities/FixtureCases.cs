using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities;

/// <summary>
/// A fixture cases file, loaded whole. Cases are discovered from the tensor names
/// (<c>&lt;case&gt;.&lt;field&gt;</c>), never hard-coded, so the same tests run on any folder of the
/// same format.
/// </summary>
public sealed class FixtureCases : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    private FixtureCases(string path, Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>The file's <c>__metadata__</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensor names.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>Loads a cases file relative to the fixture root, e.g. <c>Load("ddim", "cases.safetensors")</c>.</summary>
    public static FixtureCases Load(params string[] relativePath)
    {
        var path = FixtureRoot.Combine(relativePath);
        using var file = SafetensorsFile.Open(path);
        return new FixtureCases(path, file.ReadAll(), file.Metadata);
    }

    /// <summary>Case names: the distinct prefixes before the first '.' of dotted tensor names, sorted.</summary>
    public IReadOnlyList<string> CaseNames() =>
        _tensors.Keys.Where(n => n.Contains('.')).Select(n => n[..n.IndexOf('.')]).Distinct()
            .OrderBy(n => n, StringComparer.Ordinal).ToList();

    /// <summary>True when the file holds that tensor.</summary>
    public bool Has(string name) => _tensors.ContainsKey(name);

    /// <summary>A tensor by full name; fails the test with the file name when absent.</summary>
    public Tensor this[string name] =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{FilePath} has no tensor '{name}'.");

    /// <summary>A case field, e.g. <c>Get("case3", "noise")</c>.</summary>
    public Tensor Get(string caseName, string field) => this[$"{caseName}.{field}"];

    /// <summary>
    /// A list of strings of one case from the <c>cases</c> metadata (a JSON list of objects with a <c>name</c>),
    /// e.g. <c>CaseStrings("case0", "prompts")</c>.
    /// </summary>
    public string[] CaseStrings(string caseName, string field)
    {
        using var document = System.Text.Json.JsonDocument.Parse(Metadata["cases"]);
        var entry = document.RootElement.EnumerateArray().Single(c => c.GetProperty("name").GetString() == caseName);
        return entry.GetProperty(field).EnumerateArray().Select(p => p.GetString()!).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
    }
}
