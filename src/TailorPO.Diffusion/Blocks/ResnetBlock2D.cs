using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// diffusers' <c>ResnetBlock2D</c> (pre-norm, "default" or "scale_shift" time conditioning):
/// <c>out = (shortcut(x) + conv2(drop(act(norm2(conv1(act(norm1(x))) + proj(act(temb))))))) / output_scale_factor</c>.
/// State-dict keys: <c>norm1</c>, <c>conv1</c>, <c>time_emb_proj</c> (only when temb channels are
/// given), <c>norm2</c>, <c>conv2</c>, <c>conv_shortcut</c> (1x1, only when in != out channels).
/// </summary>
internal sealed class ResnetBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly GroupNorm norm1;
    private readonly Conv2dLayer conv1;
    private readonly Linear? time_emb_proj;
    private readonly GroupNorm norm2;
    private readonly Conv2dLayer conv2;
    private readonly Conv2dLayer? conv_shortcut;
#pragma warning restore IDE1006

    private readonly Func<Tensor, Tensor> _activation;
    private readonly double _dropout;
    private readonly bool _skipTimeAct;
    private readonly bool _scaleShift;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels (default: <paramref name="inChannels"/>).</param>
    /// <param name="tembChannels">Time-embedding width; null for no time conditioning (the VAE).</param>
    /// <param name="groups">GroupNorm groups of <c>norm1</c>.</param>
    /// <param name="groupsOut">GroupNorm groups of <c>norm2</c> (default: <paramref name="groups"/>).</param>
    /// <param name="eps">GroupNorm epsilon.</param>
    /// <param name="dropout">Dropout probability before <c>conv2</c> (active in training mode only).</param>
    /// <param name="activation">Activation name, e.g. "silu" (see <see cref="Activation"/>).</param>
    /// <param name="outputScaleFactor">The sum is divided by this.</param>
    /// <param name="skipTimeAct">When true the time embedding is projected without the activation first.</param>
    /// <param name="timeEmbeddingNorm">"default" (add the projection) or "scale_shift" (FiLM on norm2).</param>
    public ResnetBlock2D(long inChannels, long? outChannels = null, long? tembChannels = 512, long groups = 32,
        long? groupsOut = null, double eps = 1e-6, double dropout = 0.0, string activation = "silu",
        double outputScaleFactor = 1.0, bool skipTimeAct = false, string timeEmbeddingNorm = "default")
        : base(nameof(ResnetBlock2D))
    {
        var outCh = outChannels ?? inChannels;
        if (inChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "must be positive.");
        if (outCh <= 0) throw new ArgumentOutOfRangeException(nameof(outChannels), outCh, "must be positive.");
        if (inChannels % groups != 0)
            throw new ArgumentException($"inChannels {inChannels} is not divisible by groups {groups}.", nameof(groups));
        var gOut = groupsOut ?? groups;
        if (outCh % gOut != 0)
            throw new ArgumentException($"outChannels {outCh} is not divisible by groupsOut {gOut}.", nameof(groupsOut));
        if (timeEmbeddingNorm is not ("default" or "scale_shift"))
            throw new ArgumentException($"timeEmbeddingNorm '{timeEmbeddingNorm}' is not supported; expected 'default' or 'scale_shift'.", nameof(timeEmbeddingNorm));
        if (outputScaleFactor == 0 || !double.IsFinite(outputScaleFactor))
            throw new ArgumentOutOfRangeException(nameof(outputScaleFactor), outputScaleFactor, "must be finite and non-zero.");

        InChannels = inChannels;
        OutChannels = outCh;
        OutputScaleFactor = outputScaleFactor;
        _activation = Activation.Get(activation, nameof(activation));
        _dropout = dropout;
        _skipTimeAct = skipTimeAct;
        _scaleShift = timeEmbeddingNorm == "scale_shift";

        norm1 = Normalization.GroupNorm(groups, inChannels, eps);
        conv1 = new Conv2dLayer(inChannels, outCh, 3, stride: 1, padding: 1);
        if (tembChannels is long temb)
            time_emb_proj = Layers.Linear(temb, _scaleShift ? 2 * outCh : outCh);
        norm2 = Normalization.GroupNorm(gOut, outCh, eps);
        conv2 = new Conv2dLayer(outCh, outCh, 3, stride: 1, padding: 1);
        if (inChannels != outCh)
            conv_shortcut = new Conv2dLayer(inChannels, outCh, 1, stride: 1);
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>The residual sum is divided by this.</summary>
    public double OutputScaleFactor { get; }

    /// <summary>True when the block takes a time embedding.</summary>
    public bool UsesTimeEmbedding => time_emb_proj is not null;

    /// <summary>Runs the block.</summary>
    /// <param name="input">[B, in, H, W].</param>
    /// <param name="temb">[B, temb channels]; required exactly when the block was built with temb channels.</param>
    public override Tensor forward(Tensor input, Tensor? temb)
    {
        if (input.dim() != 4 || input.shape[1] != InChannels)
            throw new ArgumentException($"input must be [B, {InChannels}, H, W]; got [{string.Join(", ", input.shape)}].", nameof(input));
        if (time_emb_proj is null && temb is not null)
            throw new ArgumentException("this ResnetBlock2D has no time_emb_proj (built without temb channels) but a temb was given.", nameof(temb));
        if (time_emb_proj is not null && temb is null)
            throw new ArgumentException("this ResnetBlock2D needs a time embedding [B, temb channels] but temb is null.", nameof(temb));

        using var scope = NewDisposeScope();
        var hidden = _activation(norm1.call(input));
        hidden = conv1.call(hidden);

        Tensor? projected = null;
        if (time_emb_proj is not null)
        {
            var t = _skipTimeAct ? temb! : _activation(temb!);
            projected = time_emb_proj.call(t)[.., .., TensorIndex.None, TensorIndex.None];
        }

        if (projected is not null && !_scaleShift) hidden = hidden + projected;
        hidden = norm2.call(hidden);
        if (projected is not null && _scaleShift)
        {
            var parts = projected.chunk(2, dim: 1);
            hidden = hidden * (parts[0] + 1) + parts[1];
        }
        hidden = _activation(hidden);
        hidden = nn.functional.dropout(hidden, _dropout, training);
        hidden = conv2.call(hidden);

        var shortcut = conv_shortcut is null ? input : conv_shortcut.call(input);
        var output = shortcut + hidden;
        if (OutputScaleFactor != 1.0) output = output / OutputScaleFactor;
        return output.MoveToOuterDisposeScope();
    }
}
