using TailorPO.Core.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests;

/// <summary>
/// A tiny noise predictor with an adapter, small enough for many training steps in a test: per pixel
/// eps = tanh((0.5 + t/1000) (W + s B A) x + b + mean(c)), the base W frozen, the adapter (rank-2 B A and a bias b)
/// trainable, B and b starting at zero so the fresh policy equals the reference.
/// </summary>
internal sealed class TinyAdaptedModel : INoisePredictor, IAdapter, IDisposable
{
    private readonly Tensor _weight;
    private readonly Parameter _a;
    private readonly Parameter _b;
    private readonly Parameter _bias;

    public TinyAdaptedModel(int channels, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            _weight = (eye(channels) + 0.3 * randn([channels, channels], generator: generator)).DetachFromDisposeScope();
            _a = new Parameter((0.5 * randn([2, channels], generator: generator)).DetachFromDisposeScope());
        }
        _b = new Parameter(zeros(channels, 2));
        _bias = new Parameter(zeros(channels));
        TrainableParameters = [("adapter.a", _a), ("adapter.b", _b), ("adapter.bias", _bias)];
    }

    public IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters { get; }

    public bool Enabled { get; set; } = true;

    public int Calls { get; private set; }

    public IDisposable Disable()
    {
        var previous = Enabled;
        Enabled = false;
        return new Restore(() => Enabled = previous);
    }

    public void Save(string path)
    {
        using var writer = new BinaryWriter(File.Create(path));
        foreach (var (_, p) in TrainableParameters)
        {
            var values = p.detach().cpu().data<float>().ToArray();
            writer.Write(values.Length);
            foreach (var v in values) writer.Write(v);
        }
    }

    public void Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        using var noGrad = no_grad();
        foreach (var (_, p) in TrainableParameters)
        {
            var values = new float[reader.ReadInt32()];
            for (var i = 0; i < values.Length; i++) values[i] = reader.ReadSingle();
            p.copy_(tensor(values).reshape(p.shape));
        }
    }

    public Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates)
    {
        Calls++;
        using var scope = NewDisposeScope();
        var batch = latents.shape[0];
        var t = timesteps.to(latents.dtype);
        t = t.dim() == 0 ? t.expand(batch) : t;
        var scale = (0.5 + t / 1000.0).reshape(batch, 1, 1, 1);
        var shift = encoderHiddenStates.to(latents.dtype).flatten(1).mean([1]).reshape(batch, 1, 1, 1);
        var weight = Enabled ? _weight + matmul(_b, _a) : _weight;
        var mixed = einsum("oc,bchw->bohw", weight, latents);
        var bias = Enabled ? _bias.reshape(1, -1, 1, 1) : zeros(1, latents.shape[1], 1, 1);
        return (scale * mixed + bias + shift).tanh().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _weight.Dispose();
        foreach (var (_, p) in TrainableParameters) p.Dispose();
    }

    private sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}

/// <summary>Prompt embeddings from a hash of the prompt (so prompts differ), zeros for the empty prompt.</summary>
internal sealed class HashPromptEncoder : IPromptEncoder
{
    public List<double> Scales { get; } = [];

    public DiffusionCondition Encode(IReadOnlyList<string> prompts, double guidanceScale)
    {
        Scales.Add(guidanceScale);
        var rows = prompts.Select(p => Enumerable.Range(0, 8).Select(i => (float)(((p.Sum(c => (int)c) * 31 >> i) & 7) / 7.0 - 0.5) * 0.2f).ToArray()).ToArray();
        var embeddings = tensor(rows.SelectMany(r => r).ToArray()).reshape(prompts.Count, 2, 4);
        return new DiffusionCondition(prompts, embeddings, guidanceScale == 1.0 ? null : zeros_like(embeddings), guidanceScale);
    }
}

/// <summary>A differentiable analytic reward: the mean brightness of the image.</summary>
internal sealed class MeanBrightnessReward : IRewardModel
{
    public string Name => "mean-brightness";

    public bool IsDifferentiable => true;

    public Func<Tensor, Tensor>? Corrupt { get; set; }

    public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
    {
        var score = images.mean([1, 2, 3]);
        return Corrupt is null ? score : Corrupt(score);
    }
}
