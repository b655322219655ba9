using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// An AdamW implementation compared with the torch fixture: <see cref="Training.Optimization.AdapterAdamW"/> or
/// TorchSharp's own <c>torch.optim.AdamW</c>, seen through its step and its moments named <c>exp_avg.i</c> /
/// <c>exp_avg_sq.i</c>.
/// </summary>
internal sealed class AdamWUnderTest : IDisposable
{
    internal const string Ours = "AdapterAdamW";
    internal const string TorchSharp = "TorchSharp AdamW";

    private readonly IDisposable _optimizer;
    private readonly Action _step;
    private readonly Func<IReadOnlyDictionary<string, Tensor>> _moments;

    private AdamWUnderTest(IDisposable optimizer, Action step, Func<IReadOnlyDictionary<string, Tensor>> moments) =>
        (_optimizer, _step, _moments) = (optimizer, step, moments);

    internal static IReadOnlyList<string> Implementations { get; } = [Ours, TorchSharp];

    internal static AdamWUnderTest Create(string implementation, AdamWCase c, IReadOnlyList<Parameter> parameters)
    {
        switch (implementation)
        {
            case Ours:
                var adapter = c.Optimizer(parameters);
                return new AdamWUnderTest(adapter, adapter.Step, () => adapter.ExportState().Tensors);
            case TorchSharp:
                var torchSharp = optim.AdamW(parameters, c.Lr, c.Beta1, c.Beta2, c.Eps, c.WeightDecay);
                return new AdamWUnderTest(torchSharp, () => torchSharp.step(), () => Moments(torchSharp));
            default:
                throw new ArgumentOutOfRangeException(nameof(implementation), implementation, "Unknown AdamW implementation.");
        }
    }

    /// <summary>TorchSharp's per-parameter AdamW states (live objects with public tensors and step counter).</summary>
    internal static IReadOnlyList<AdamW.State> States(AdamW optimizer) => optimizer.state_dict().State.Cast<AdamW.State>().ToList();

    /// <summary>TorchSharp's AdamW moments (live tensors) under AdapterAdamW's state names.</summary>
    internal static IReadOnlyDictionary<string, Tensor> Moments(AdamW optimizer) =>
        States(optimizer).SelectMany((s, i) => new[] { ($"exp_avg.{i}", s.exp_avg), ($"exp_avg_sq.{i}", s.exp_avg_sq) })
            .ToDictionary(p => p.Item1, p => p.Item2);

    internal void Step() => _step();

    /// <summary>The moments after the latest step (copies for AdapterAdamW, in the caller's dispose scope; live tensors for TorchSharp).</summary>
    internal IReadOnlyDictionary<string, Tensor> Moments() => _moments();

    /// <summary>The (fixture tensor name, actual tensor) pairs of parameters and both moments after <paramref name="step"/>.</summary>
    internal IEnumerable<(string Expected, Tensor Actual)> AfterStep(AdamWCase c, int step, IReadOnlyList<Parameter> parameters) =>
        OptimizerFixture.AfterStep(c, step, parameters, Moments());

    public void Dispose() => _optimizer.Dispose();
}
