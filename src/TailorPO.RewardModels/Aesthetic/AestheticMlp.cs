using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Aesthetic;

/// <summary>
/// The LAION improved-aesthetic-predictor head (as ddpo-pytorch uses it): on an L2-normalised CLIP
/// image embedding, <c>Linear(D, 1024) Dropout Linear(1024, 128) Dropout Linear(128, 64) Dropout
/// Linear(64, 16) Linear(16, 1)</c> with NO activations. State-dict keys
/// <c>layers.{0,2,4,6,7}.{weight,bias}</c> (the dropouts hold no weights); D = 768 for ViT-L/14.
/// </summary>
public sealed class AestheticMlp : nn.Module<Tensor, Tensor>
{
    /// <summary>The hidden widths after the input.</summary>
    public static readonly IReadOnlyList<long> HiddenSizes = [1024, 128, 64, 16];

#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
#pragma warning restore IDE1006

    /// <summary>Builds a randomly initialised head for embeddings of size <paramref name="inputDim"/>.</summary>
    public AestheticMlp(long inputDim = 768) : base(nameof(AestheticMlp))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputDim, 1);
        InputDim = inputDim;
        layers = new ModuleList<nn.Module<Tensor, Tensor>>(
            nn.Linear(inputDim, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1));
        RegisterComponents();
    }

    /// <summary>The embedding size D.</summary>
    public long InputDim { get; }

    /// <summary>
    /// Loads a safetensors file with the head's keys (D read from <c>layers.0.weight</c>), in eval mode.
    /// </summary>
    /// <param name="path">The weights file, e.g. <c>aesthetic_mlp.safetensors</c>.</param>
    /// <param name="dtype">Weight dtype; null keeps float32.</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="StateDictMismatchException">Keys or shapes do not match the head's layout.</exception>
    public static AestheticMlp FromFile(string path, ScalarType? dtype = null, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Aesthetic MLP weights '{path}' do not exist.", path);
        var weights = SafetensorsFile.LoadAll(path);
        try
        {
            var inputDim = weights.TryGetValue("layers.0.weight", out var first) && first.dim() == 2 ? first.shape[1] : 768;
            var mlp = new AestheticMlp(inputDim);
            try
            {
                StateDictLoader.Load(mlp, weights, path);
                if (dtype is { } type) mlp.to(type);
                if (device is not null) mlp.to(device);
                mlp.eval();
                return mlp;
            }
            catch
            {
                mlp.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var tensor in weights.Values) tensor.Dispose();
        }
    }

    /// <summary>Scores normalised embeddings [B, D]; returns [B, 1].</summary>
    public override Tensor forward(Tensor embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.dim() != 2 || embeddings.shape[1] != InputDim)
            throw new ArgumentException(
                $"embeddings has shape [{string.Join(", ", embeddings.shape)}]; expected [B, {InputDim}].", nameof(embeddings));
        using var scope = NewDisposeScope();
        var x = embeddings;
        foreach (var layer in layers)
            x = layer.forward(x);
        return x.MoveToOuterDisposeScope();
    }
}
