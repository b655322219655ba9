using System.Text.Json;
using TailorPO.TestUtilities;
using TailorPO.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// The optimizer fixtures made by real PyTorch (<c>tests/fixtures/optimizer</c>, see its README): every case's
/// configuration is read from the file's <c>cases</c> metadata, so the tests run on any folder of that format.
/// </summary>
internal static class OptimizerFixture
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    internal static FixtureCases LoadAdamW() => FixtureCases.Load("optimizer", "adamw_cases.safetensors");

    internal static FixtureCases LoadClip() => FixtureCases.Load("optimizer", "clip_grad_norm_cases.safetensors");

    internal static IReadOnlyList<AdamWCase> AdamWCases(FixtureCases file) => Cases<AdamWCase>(file);

    internal static IReadOnlyList<ClipCase> ClipCases(FixtureCases file) => Cases<ClipCase>(file);

    internal static AdamWCase AdamWCase(FixtureCases file, string name) => AdamWCases(file).Single(c => c.Name == name);

    internal static ClipCase ClipCase(FixtureCases file, string name) => ClipCases(file).Single(c => c.Name == name);

    /// <summary>Case names for xUnit theories.</summary>
    internal static TheoryData<string> Names(Func<FixtureCases> load, Func<FixtureCases, IEnumerable<string>> names)
    {
        using var file = load();
        return new TheoryData<string>(names(file));
    }

    /// <summary>Fresh float64 parameters holding a case's tensors (copies, so the fixture stays unchanged).</summary>
    internal static Parameter[] Parameters(FixtureCases file, string caseName, int count, string field) =>
        Enumerable.Range(0, count).Select(i => new Parameter(file[$"{caseName}.p{i}.{field}"].clone().DetachFromDisposeScope())).ToArray();

    /// <summary>
    /// Runs steps <paramref name="first"/>..<paramref name="last"/> of an AdamW case: each sets the fixture's gradients of
    /// that step, calls <paramref name="step"/>, then <paramref name="afterStep"/>, in a dispose scope of its own.
    /// </summary>
    internal static void Run(FixtureCases file, AdamWCase c, IReadOnlyList<Parameter> parameters, int first, int last, Action step,
        Action<int>? afterStep = null)
    {
        for (var k = first; k <= last; k++)
        {
            using var scope = NewDisposeScope();
            for (var i = 0; i < parameters.Count; i++)
            {
                using var gradient = file[$"{c.Name}.p{i}.grad.{k}"].clone();
                parameters[i].grad = gradient;
            }
            step();
            afterStep?.Invoke(k);
        }
    }

    /// <summary>
    /// The (fixture tensor name, actual tensor) pairs of parameters and both moments after <paramref name="step"/>;
    /// <paramref name="moments"/> names them <c>exp_avg.i</c> / <c>exp_avg_sq.i</c> as <see cref="AdapterAdamW.ExportState"/> does.
    /// </summary>
    internal static IEnumerable<(string Expected, Tensor Actual)> AfterStep(AdamWCase c, int step, IReadOnlyList<Parameter> parameters,
        IReadOnlyDictionary<string, Tensor> moments) =>
        Enumerable.Range(0, c.Parameters).SelectMany(i => new (string, Tensor)[]
        {
            ($"{c.Name}.p{i}.param.{step}", parameters[i]),
            ($"{c.Name}.p{i}.exp_avg.{step}", moments[$"exp_avg.{i}"]),
            ($"{c.Name}.p{i}.exp_avg_sq.{step}", moments[$"exp_avg_sq.{i}"]),
        });

    private static IReadOnlyList<T> Cases<T>(FixtureCases file) =>
        JsonSerializer.Deserialize<List<T>>(file.Metadata["cases"], Json)
        ?? throw new InvalidDataException($"{file.FilePath} has no 'cases' metadata.");
}

/// <summary>One torch.optim.AdamW run of the fixture.</summary>
internal sealed record AdamWCase(string Name, int Steps, int Parameters, double Lr, double Beta1, double Beta2, double Eps, double WeightDecay)
{
    public AdapterAdamW Optimizer(IReadOnlyList<Parameter> parameters) => new(parameters, Lr, Beta1, Beta2, Eps, WeightDecay);
}

/// <summary>One torch.nn.utils.clip_grad_norm_ call of the fixture.</summary>
internal sealed record ClipCase(string Name, string Dtype, double MaxNorm, double NormType, int Parameters, bool[] HasGradient, bool Clipped);
