using TailorPO.Diffusion.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// Activation checkpointing (TorchSharp has no <c>torch.utils.checkpoint</c>): the layer runs without
/// recording a graph; in the backward pass it is run again with grad enabled and differentiated there.
/// The layer's trainable parameters are explicit inputs of the autograd node, so autograd decides where
/// their gradients go: a <c>backward()</c> accumulates them in <c>.grad</c>, while
/// <c>autograd.grad(objective, [latents])</c> (TailorPO-G's guidance) leaves every <c>.grad</c> untouched.
/// Like PyTorch's re-entrant checkpoint it assumes a deterministic layer and one backward per forward.
/// </summary>
internal static class GradientCheckpoint
{
    /// <summary>Runs <paramref name="layer"/> (whose parameters belong to <paramref name="owner"/>) checkpointed.</summary>
    /// <exception cref="InvalidOperationException">An active LoRA adapter inside the layer uses dropout: the
    /// recomputation would draw other masks than the forward pass, so the gradients would be wrong.</exception>
    public static Tensor Run(nn.Module owner, Func<Tensor[], Tensor> layer, Tensor?[] inputs)
    {
        var stochastic = owner.named_modules()
            .FirstOrDefault(m => m.module is LoraLinear { HasAdapter: true, AdapterEnabled: true, Dropout: > 0 });
        if (stochastic.module is not null)
            throw new InvalidOperationException(
                $"Gradient checkpointing recomputes each block in the backward pass, but the LoRA layer '{stochastic.name}' uses dropout " +
                $"{((LoraLinear)stochastic.module).Dropout}, whose masks would differ on recomputation. Attach the adapter with Dropout = 0 " +
                "or set GradientCheckpointing = false.");

        var parameters = owner.parameters().Where(p => p.requires_grad).ToArray();
        var vars = new object[1 + inputs.Length + parameters.Length];
        vars[0] = new Layer(layer, inputs.Length);
        for (var i = 0; i < inputs.Length; i++) vars[1 + i] = (object?)inputs[i] ?? Missing.Instance;
        for (var i = 0; i < parameters.Length; i++) vars[1 + inputs.Length + i] = parameters[i];
        return CheckpointFunction.apply(vars);
    }

    /// <summary>The recomputable layer and how many of the node's inputs are its arguments (the rest are parameters).</summary>
    private sealed record Layer(Func<Tensor[], Tensor> Compute, int InputCount);

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
            var layer = (Layer)vars[0];
            var inputs = new Tensor?[layer.InputCount];
            for (var i = 0; i < inputs.Length; i++) inputs[i] = vars[1 + i] as Tensor;
            var parameters = vars.Skip(1 + layer.InputCount).Cast<Tensor>().ToArray();
            ctx.save_data("layer", layer);
            ctx.save_data("present", inputs.Select(t => t is not null).ToArray());
            ctx.save_data("requiresGrad", inputs.Select(t => t is { requires_grad: true }).ToArray());
            ctx.save_data("parameters", parameters);
            ctx.save_for_backward(inputs.Where(t => t is not null).Select(t => t!).ToList());
            return layer.Compute(inputs!);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var layer = (Layer)ctx.get_data("layer");
            var present = (bool[])ctx.get_data("present");
            var requiresGrad = (bool[])ctx.get_data("requiresGrad");
            var parameters = (Tensor[])ctx.get_data("parameters");
            var saved = ctx.get_saved_variables();

            using var gradMode = enable_grad();
            var replay = new Tensor?[present.Length];
            for (int i = 0, s = 0; i < present.Length; i++)
                if (present[i]) replay[i] = saved[s++].detach().requires_grad_(requiresGrad[i]);

            var grads = new List<Tensor> { null! };
            var inputGrads = new Tensor?[replay.Length];
            var parameterGrads = new Tensor?[parameters.Length];
            using (var scope = NewDisposeScope())
            {
                var output = layer.Compute(replay!);
                var wanted = replay.Where(r => r is { requires_grad: true }).Select(r => r!).Concat(parameters).ToList();
                if (output.requires_grad && wanted.Count > 0)
                {
                    var computed = autograd.grad([output], wanted, [gradOutput], allow_unused: true);
                    var k = 0;
                    for (var i = 0; i < replay.Length; i++)
                        if (replay[i] is { requires_grad: true })
                            inputGrads[i] = Keep(computed[k++]);
                    for (var p = 0; p < parameters.Length; p++)
                        parameterGrads[p] = Keep(computed[k++]);
                }
            }
            grads.AddRange(inputGrads.Select(g => g!));
            grads.AddRange(parameterGrads.Select(g => g!));
            return grads;
        }

        private static Tensor? Keep(Tensor? gradient) =>
            gradient is null || gradient.IsInvalid ? null : gradient.MoveToOuterDisposeScope();
    }
}
