using System.Text.Json;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Lora;

/// <summary>
/// tests/fixtures/lora_layouts: one LoRA per file layout, written by PEFT / diffusers, and the UNet output each
/// gives on the fixture UNet with the real library's loader. Everything (layout list, paths, case names) is read
/// from <c>layouts.json</c>, so another folder of the same format works as well.
/// </summary>
public sealed class LoraLayoutFixture
{
    private LoraLayoutFixture(string root, string unetFolder, string casesPath, IReadOnlyList<string> caseNames, string expectedPath,
        IReadOnlyList<Layout> layouts)
    {
        Root = root;
        UNetFolder = unetFolder;
        CasesPath = casesPath;
        CaseNames = caseNames;
        ExpectedPath = expectedPath;
        Layouts = layouts;
    }

    /// <summary>One layout: its name, its file or folder, and the format the reader must detect.</summary>
    public sealed record Layout(string Name, string Path, LoraFileFormat Format);

    /// <summary>The fixture folder.</summary>
    public string Root { get; }

    /// <summary>The base UNet the outputs were computed on.</summary>
    public string UNetFolder { get; }

    /// <summary>The inputs (sample, timestep, encoder_hidden_states per case).</summary>
    public string CasesPath { get; }

    /// <summary>The cases with an expected output per layout.</summary>
    public IReadOnlyList<string> CaseNames { get; }

    /// <summary><c>&lt;layout&gt;.&lt;case&gt;.expected</c> for every layout and case.</summary>
    public string ExpectedPath { get; }

    /// <summary>The layouts.</summary>
    public IReadOnlyList<Layout> Layouts { get; }

    /// <summary>Reads <c>layouts.json</c> of the fixture root's <c>lora_layouts</c> folder.</summary>
    public static LoraLayoutFixture Load()
    {
        var root = FixtureRoot.Combine("lora_layouts");
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "layouts.json")));
        var json = document.RootElement;
        string Fixture(string relative) => FixtureRoot.Combine(relative.Split('/'));
        var layouts = json.GetProperty("layouts").EnumerateArray()
            .Select(l => new Layout(l.GetProperty("name").GetString()!, Path.Combine([root, .. l.GetProperty("path").GetString()!.Split('/')]),
                Enum.Parse<LoraFileFormat>(l.GetProperty("format").GetString()!)))
            .ToList();
        return new LoraLayoutFixture(root, Fixture(json.GetProperty("unet").GetString()!), Fixture(json.GetProperty("cases").GetString()!),
            json.GetProperty("case_names").EnumerateArray().Select(c => c.GetString()!).ToList(),
            Path.Combine(root, json.GetProperty("expected").GetString()!), layouts);
    }

    /// <summary>The layout names, as xunit theory data.</summary>
    public static IEnumerable<object[]> LayoutNames() => Load().Layouts.Select(l => new object[] { l.Name });

    /// <summary>The layout called <paramref name="name"/>.</summary>
    public Layout Get(string name) => Layouts.Single(l => l.Name == name);

    /// <summary>A fresh base UNet.</summary>
    public UNet2DConditionModel FreshUNet() => UNet2DConditionModel.FromPretrained(UNetFolder);

    /// <summary>Every adaptable layer of <paramref name="model"/> by module path.</summary>
    public static Dictionary<string, LoraLinear> AdaptableLayers(nn.Module model) =>
        model.named_modules().Where(m => m.module is LoraLinear).ToDictionary(m => m.name, m => (LoraLinear)m.module, StringComparer.Ordinal);

    /// <summary>The UNet output for <paramref name="caseName"/> of <paramref name="cases"/>.</summary>
    public static Tensor Run(UNet2DConditionModel model, FixtureCases cases, string caseName)
    {
        using var noGrad = no_grad();
        return model.call(cases.Get(caseName, "sample"), cases.Get(caseName, "timestep"), cases.Get(caseName, "encoder_hidden_states"));
    }
}
