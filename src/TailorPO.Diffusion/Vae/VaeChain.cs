using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// What the VAE's forward passes share: chains of resnets without time embedding (eps 1e-6, as
/// diffusers builds them for the VAE), and freeing each intermediate as soon as the next exists, so a
/// pass holds at most two of the chain's activations at a time.
/// </summary>
internal static class VaeChain
{
    /// <summary><paramref name="layers"/> resnets, the first from <paramref name="inChannels"/>, the rest from <paramref name="outChannels"/>.</summary>
    public static ModuleList<ResnetBlock2D> Resnets(long inChannels, long outChannels, long layers, long groups, string activation)
    {
        var built = new ResnetBlock2D[layers];
        for (var i = 0; i < layers; i++)
            built[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, tembChannels: null,
                groups: groups, eps: 1e-6, activation: activation);
        return new ModuleList<ResnetBlock2D>(built);
    }

    /// <summary>Runs the chain on <paramref name="input"/> (which is never disposed).</summary>
    public static Tensor RunResnets(ModuleList<ResnetBlock2D> resnets, Tensor input)
    {
        var hidden = input;
        foreach (var resnet in resnets) hidden = Replace(hidden, resnet.call(hidden, null), input);
        return hidden;
    }

    /// <summary>Frees <paramref name="previous"/> (unless it is the caller's <paramref name="input"/>) and returns <paramref name="next"/>.</summary>
    public static Tensor Replace(Tensor previous, Tensor next, Tensor input)
    {
        if (!ReferenceEquals(previous, input)) previous.Dispose();
        return next;
    }
}
