using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// Activation checkpointing (TorchSharp has no <c>torch.utils.checkpoint</c>): the layer runs without
/// recording a graph; in the backward pass it is run again with grad enabled and back-propagated
/// there, which accumulates the parameter gradients and yields the input gradients. Like PyTorch's
/// re-entrant checkpoint it assumes a deterministic layer (no dropout draws), one backward per
/// forward (no retain_graph), and an always-differentiable anchor is passed so parameters inside
/// the layer get gradients even when no input requires grad.
/// </summary>
internal static class GradientCheckpoint
{
    private static readonly ThreadLocal<Dictionary<(DeviceType, int), Tensor>> Anchors = new(() => new());

    /// <summary>Runs <paramref name="layer"/> checkpointed.</summary>
    public static Tensor Run(Func<Tensor[], Tensor> layer, Tensor?[] inputs)
    {
        var device = inputs.First(t => t is not null)!.device;
        var anchors = Anchors.Value!;
        if (!anchors.TryGetValue((device.type, device.index), out var anchor))
        {
            anchor = zeros(1, device: device).requires_grad_(true).DetachFromDisposeScope();
            anchors[(device.type, device.index)] = anchor;
        }
        var vars = new object[inputs.Length + 2];
        vars[0] = layer;
        vars[1] = anchor;
        for (int i = 0; i < inputs.Length; i++) vars[i + 2] = (object?)inputs[i] ?? Missing.Instance;
        return CheckpointFunction.apply(vars);
    }

    /// <summary>Stands for a null input (the autograd bridge takes objects, not nulls).</summary>
    private sealed class Missing
    {
        public static readonly Missing Instance = new();
    }

    private sealed class CheckpointFunction : autograd.SingleTensorFunction<CheckpointFunction>
    {
        public override string Name => "TailorPO.GradientCheckpoint";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var layer = (Func<Tensor[], Tensor>)vars[0];
            var inputs = new Tensor?[vars.Length - 2];
            var saved = new Tensor?[vars.Length - 2];
            for (int i = 2; i < vars.Length; i++)
            {
                if (vars[i] is not Tensor t) continue;
                inputs[i - 2] = t;
                // Own handles that outlive the caller's dispose scopes until the backward pass.
                var keep = t.detach().DetachFromDisposeScope();
                saved[i - 2] = keep.requires_grad_(false);
            }
            ctx.save_data("layer", layer);
            ctx.save_data("inputs", saved);
            ctx.save_data("requiresGrad", inputs.Select(t => t is not null && t.requires_grad).ToArray());
            return layer(inputs!);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var layer = (Func<Tensor[], Tensor>)ctx.get_data("layer");
            var saved = (Tensor?[])ctx.get_data("inputs");
            var requiresGrad = (bool[])ctx.get_data("requiresGrad");
            var grads = new List<Tensor> { null!, null! };
            try
            {
                using var gradMode = enable_grad();
                var replay = new Tensor?[saved.Length];
                for (int i = 0; i < saved.Length; i++)
                    replay[i] = saved[i] is null ? null : saved[i]!.detach().requires_grad_(requiresGrad[i]);
                using (var scope = NewDisposeScope())
                {
                    var output = layer(replay!);
                    autograd.backward(new[] { output }, new[] { gradOutput });
                }
                for (int i = 0; i < replay.Length; i++)
                    grads.Add(replay[i] is { requires_grad: true } r && r.grad is not null ? r.grad.detach() : null!);
            }
            finally
            {
                foreach (var t in saved) t?.Dispose();
            }
            return grads;
        }
    }
}
