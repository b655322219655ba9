using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>The stack of encoder layers (<c>encoder.layers.N</c>), shared by both towers.</summary>
internal sealed class CLIPEncoder : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<CLIPEncoderLayer> layers;
#pragma warning restore IDE1006

    public CLIPEncoder(long layerCount, long hiddenSize, long intermediateSize, long heads, string activation,
        double layerNormEps, bool causal) : base(nameof(CLIPEncoder))
    {
        var built = new CLIPEncoderLayer[layerCount];
        for (var i = 0; i < layerCount; i++)
            built[i] = new CLIPEncoderLayer(hiddenSize, intermediateSize, heads, activation, layerNormEps, causal);
        layers = new ModuleList<CLIPEncoderLayer>(built);
        RegisterComponents();
    }

    /// <summary>Number of layers.</summary>
    public int Count => layers.Count;

    /// <summary>Runs every layer.</summary>
    /// <param name="hidden">[B, S, C]; not disposed.</param>
    /// <param name="additiveMask">See <see cref="CLIPAttention.forward"/>.</param>
    /// <param name="hiddenStates">
    /// When not null, receives the input and then each layer's output (transformers'
    /// <c>hidden_states</c> tuple: embeddings first, before any final norm).
    /// </param>
    public Tensor Forward(Tensor hidden, Tensor? additiveMask, List<Tensor>? hiddenStates)
    {
        hiddenStates?.Add(hidden);
        var current = hidden;
        foreach (var layer in layers)
        {
            var next = layer.forward(current, additiveMask);
            // Intermediate states die here unless the caller asked for them.
            if (hiddenStates is null && !ReferenceEquals(current, hidden)) current.Dispose();
            current = next;
            hiddenStates?.Add(current);
        }
        return ReferenceEquals(current, hidden) ? hidden.alias() : current;
    }
}
