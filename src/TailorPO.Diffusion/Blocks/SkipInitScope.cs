using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// While active on this thread, the model constructors create every parameter uninitialised
/// (<c>torch.empty</c>) directly in <see cref="DType"/> on <see cref="Device"/>: no random initialisation,
/// no throwaway template modules, no float32 copy on the CPU. Only the model loader opens it, around the
/// construction of a model whose every parameter the checkpoint then overwrites (and checks that it did:
/// see <c>ModelLoader</c>). Without a scope, construction is PyTorch's random initialisation as always.
/// </summary>
/// <remarks>
/// Thread-static rather than async-local: a model is constructed synchronously on one thread, and a
/// model built concurrently on another thread must not see this one's scope.
/// </remarks>
internal sealed class SkipInitScope : IDisposable
{
    [ThreadStatic]
    private static SkipInitScope? _current;

    private readonly SkipInitScope? _outer;
    private bool _disposed;

    private SkipInitScope(ScalarType dtype, Device device)
    {
        DType = dtype;
        Device = device;
        _outer = _current;
        _current = this;
    }

    /// <summary>The scope active on this thread, or null (construct with random initialisation).</summary>
    public static SkipInitScope? Current => _current;

    /// <summary>Starts a scope on this thread; dispose it (on the same thread) right after the construction.</summary>
    /// <param name="dtype">dtype of every parameter created in the scope.</param>
    /// <param name="device">Device of every parameter created in the scope.</param>
    public static SkipInitScope Begin(ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new SkipInitScope(dtype, device);
    }

    /// <summary>dtype of the parameters created in the scope.</summary>
    public ScalarType DType { get; }

    /// <summary>Device of the parameters created in the scope.</summary>
    public Device Device { get; }

    /// <summary>A parameter of <paramref name="shape"/> whose values are whatever the memory held: the loader overwrites it.</summary>
    public Parameter Empty(params long[] shape)
    {
        var parameter = new Parameter(empty(shape, DType, Device));
        // It belongs to its module: a dispose scope the caller loads in must not dispose it on exit.
        parameter.DetachFromDisposeScope();
        return parameter;
    }

    /// <summary>Ends the scope (restoring the scope it was nested in).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this)
            throw new InvalidOperationException("SkipInitScope disposed out of order or on another thread.");
        _current = _outer;
        _disposed = true;
    }
}
