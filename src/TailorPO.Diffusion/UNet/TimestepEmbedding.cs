using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>diffusers' <c>TimestepEmbedding</c>: <c>linear_2(act(linear_1(x)))</c>, optionally followed by a post activation.</summary>
internal sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear linear_1;
    private readonly Linear linear_2;
#pragma warning restore IDE1006
    private readonly Func<Tensor, Tensor> _activation;
    private readonly Func<Tensor, Tensor>? _postActivation;

    /// <summary>Creates the MLP.</summary>
    /// <param name="inChannels">Sinusoidal embedding width.</param>
    /// <param name="timeEmbedDim">Hidden and output width.</param>
    /// <param name="activation">Activation between the layers.</param>
    /// <param name="postActivation">Optional activation after linear_2.</param>
    public TimestepEmbedding(long inChannels, long timeEmbedDim, string activation = "silu", string? postActivation = null)
        : base(nameof(TimestepEmbedding))
    {
        linear_1 = Layers.Linear(inChannels, timeEmbedDim);
        linear_2 = Layers.Linear(timeEmbedDim, timeEmbedDim);
        _activation = Activation.Get(activation, nameof(activation));
        _postActivation = postActivation is null ? null : Activation.Get(postActivation, nameof(postActivation));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = linear_2.call(_activation(linear_1.call(input)));
        if (_postActivation is not null) x = _postActivation(x);
        return x.MoveToOuterDisposeScope();
    }
}
