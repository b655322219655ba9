using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Docs;

/// <summary>
/// A tiny stand-in for "UNet + LoRA" in docs/custom-trainer.md: per latent pixel
/// <c>eps = tanh(a(t) * to_q(x) + mean(c))</c> with a(t) = 0.5 + t / 1000 and <c>to_q</c> a
/// channel-mixing <see cref="LoraLinear"/> whose base weight is frozen and whose rank-2 adapter trains.
/// It offers what the real UNet's LoRA adapter (<c>IAdapter</c>) offers a trainer: the trainable
/// parameters and a <see cref="DisableAdapter"/> scope that gives the reference model.
/// </summary>
internal sealed class TinyLoraNoisePredictor : nn.Module<Tensor, Tensor, Tensor, Tensor>, INoisePredictor
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly LoraLinear to_q;
#pragma warning restore IDE1006

    public TinyLoraNoisePredictor(int channels, Generator generator) : base(nameof(TinyLoraNoisePredictor))
    {
        to_q = new LoraLinear(channels, channels);
        RegisterComponents();
        using (no_grad())
        {
            // Deterministic base weights (the Linear default draws from torch's global generator).
            using var noise = randn([channels, channels], generator: generator);
            to_q.Weight.copy_(eye(channels) + 0.3 * noise);
            to_q.Bias!.zero_();
        }
        foreach (var parameter in parameters()) parameter.requires_grad = false;
        to_q.AttachAdapter(rank: 2, alpha: 2, generator);
        TrainableParameters = [to_q.LoraA!, to_q.LoraB!];
        foreach (var parameter in TrainableParameters) parameter.requires_grad = true;
    }

    /// <summary>The adapter's A and B matrices (what AdamW updates).</summary>
    public IReadOnlyList<Parameter> TrainableParameters { get; }

    /// <summary>Switches the adapter off until the returned scope is disposed (as IAdapter.Disable does).</summary>
    public IDisposable DisableAdapter()
    {
        var previous = to_q.AdapterEnabled;
        to_q.AdapterEnabled = false;
        return new Restore(() => to_q.AdapterEnabled = previous);
    }

    public Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates) =>
        forward(latents, timesteps, encoderHiddenStates);

    public override Tensor forward(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        var batch = latents.shape[0];
        var t = timesteps.to(latents.dtype);
        t = t.dim() == 0 ? t.expand(batch) : t;
        var scale = (0.5 + t / 1000.0).reshape(batch, 1, 1, 1);
        var shift = encoderHiddenStates.to(latents.dtype).flatten(1).mean([1]).reshape(batch, 1, 1, 1);
        var mixed = to_q.call(latents.permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
        return (scale * mixed + shift).tanh().MoveToOuterDisposeScope();
    }

    private sealed class Restore(Action action) : IDisposable
    {
        private Action? _action = action;

        public void Dispose()
        {
            _action?.Invoke();
            _action = null;
        }
    }
}
