using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Pairs;

/// <summary>Pairs held in memory (the source owns copies of the tensors and disposes them).</summary>
public sealed class InMemoryPreferencePairSource : IPreferencePairSource, IDisposable
{
    private readonly IReadOnlyList<string> _prompts;
    private readonly Tensor _preferred;
    private readonly Tensor _dispreferred;

    /// <summary>Creates the source.</summary>
    /// <exception cref="ArgumentException">Counts or shapes disagree, or there is no pair.</exception>
    public InMemoryPreferencePairSource(IReadOnlyList<string> prompts, Tensor preferred, Tensor dispreferred)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(preferred);
        ArgumentNullException.ThrowIfNull(dispreferred);
        if (prompts.Count == 0) throw new ArgumentException("No pairs.", nameof(prompts));
        if (preferred.dim() != 4 || !preferred.shape.SequenceEqual(dispreferred.shape) || preferred.shape[0] != prompts.Count)
            throw new ArgumentException($"Expected preferred and dis-preferred latents [{prompts.Count}, C, H, W]; got [{string.Join(", ", preferred.shape)}] and [{string.Join(", ", dispreferred.shape)}].");
        _prompts = prompts.ToArray();
        using var scope = NewDisposeScope();
        _preferred = preferred.detach().clone().DetachFromDisposeScope();
        _dispreferred = dispreferred.detach().clone().DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public int Count => _prompts.Count;

    /// <inheritdoc />
    public (IReadOnlyList<string> Prompts, Tensor Preferred, Tensor Dispreferred) Get(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var index = tensor(indices.Select(i => (long)i).ToArray()).to(_preferred.device);
        return (indices.Select(i => _prompts[i]).ToArray(), _preferred.index_select(0, index), _dispreferred.index_select(0, index));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _preferred.Dispose();
        _dispreferred.Dispose();
    }
}
