using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>
/// Keeps the library's CPU numbers right on every CPU. libtorch 2.10 bundles oneDNN 3.7.1, whose JIT convolution
/// kernels compute some convolutions wrongly on AMD Zen 5 (forward and backward, mostly blocked layouts whose
/// channel count is not a multiple of 16, some stride-2 backward passes too), with no error. Once per process the
/// guard runs small canary convolutions through libtorch and compares them with a float64 im2col reference. Where
/// oneDNN is right (Zen 4, Intel, ...) nothing changes and no further check runs. Where it is wrong, every
/// convolution shape that <see cref="Conv2d"/> sees is checked once at its first use, and only the shapes oneDNN
/// gets wrong are computed by im2col and a matrix product, which never call oneDNN. The library's UNet, VAE and CLIP
/// convolutions all go through <see cref="Conv2d"/>; so can a user's own module.
/// </summary>
/// <remarks>
/// The policy comes, in this order, from <see cref="Configure"/> (before the first check), the environment variable
/// <see cref="PolicyEnvironmentVariable"/> (<c>auto</c>, <c>onednn</c>, <c>reference</c>), or the default
/// <see cref="ConvolutionPathPolicy.Auto"/>. Every package's <c>AddTailorPO*</c>, the model loaders, the pipeline and
/// the trainers call <see cref="EnsureGuarded"/>; the first call decides, later calls return the same decision.
/// GPU tensors are never touched.
/// </remarks>
public static class TorchNumerics
{
    /// <summary>The environment variable that overrides the policy: <c>auto</c>, <c>onednn</c> or <c>reference</c>.</summary>
    public const string PolicyEnvironmentVariable = "TAILORPO_CONVOLUTION_PATH";

    private static readonly object Gate = new();
    private static NumericsDecision? _decision;
    private static ConvolutionPathPolicy? _configuredPolicy;
    private static bool _logged;
    private static ILogger? _logger;
    private static readonly ConcurrentDictionary<ShapeKey, ConvolutionRoute> Routes = new();

    /// <summary>A stand-in for a faulty CPU in tests: the shapes it names come out of the native path corrupted.</summary>
    internal static Func<ConvolutionShape, bool>? SimulatedOneDnnFault { get; set; }

    /// <summary>The decision in force, or null before the first <see cref="EnsureGuarded"/>.</summary>
    public static NumericsDecision? Decision => Volatile.Read(ref _decision);

    /// <summary>
    /// Sets the policy for this process. Call it before any model is built or loaded; once the guard has decided, a
    /// different policy is refused (the decision is process-wide).
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <exception cref="InvalidOperationException">The guard already decided on another policy.</exception>
    public static void Configure(ConvolutionPathPolicy policy)
    {
        lock (Gate)
        {
            if (_decision is { } decided && decided.Policy != policy)
                throw new InvalidOperationException(
                    $"The CPU numerics guard already runs with policy {decided.Policy} ({decided.PolicySource}); call TorchNumerics.Configure before " +
                    $"the first model is built or loaded, or set {PolicyEnvironmentVariable} before the process starts.");
            _configuredPolicy = policy;
        }
    }

    /// <summary>
    /// Decides the convolution path for this process (once; later calls return the same decision) and logs one line
    /// that says which path and why, through the first logger given.
    /// </summary>
    /// <param name="logger">Receives the decision line (information; a warning where oneDNN is wrong); optional.</param>
    /// <returns>The decision.</returns>
    /// <exception cref="ArgumentException">The environment variable names no policy.</exception>
    public static NumericsDecision EnsureGuarded(ILogger? logger = null)
    {
        var decision = Volatile.Read(ref _decision);
        if (decision is null)
        {
            lock (Gate)
            {
                decision = _decision ??= Decide();
            }
        }
        if (logger is not null)
        {
            lock (Gate)
            {
                _logger ??= logger;
                if (!_logged)
                {
                    _logged = true;
                    if (decision.OneDnnRight == false) logger.LogWarning("{Decision}", decision.Summary);
                    else logger.LogInformation("{Decision}", decision.Summary);
                }
            }
        }
        return decision;
    }

    /// <summary>
    /// A 2-D convolution with a square kernel (<c>torch.nn.functional.conv2d</c>) on the path the guard chose for this
    /// shape: libtorch's own kernel where it is right on this CPU, im2col and a matrix product where it is not. On the
    /// CPU, bfloat16 operands are convolved in float32 and the result cast back (libtorch's bfloat16 CPU convolution is
    /// 4-7x slower than float32 without AVX512-BF16/AMX, about 100x with AVX2 only; float32 on the same rounded values
    /// is at least as accurate). Autograd differentiates every path.
    /// </summary>
    /// <param name="input">[B, in, H, W].</param>
    /// <param name="weight">[out, in, k, k].</param>
    /// <param name="bias">[out], or null.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <returns>[B, out, H', W'].</returns>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (input.device.type != TorchSharp.DeviceType.CPU) return nn.functional.conv2d(input, weight, bias, [stride, stride], [padding, padding]);
        if (input.dtype == ScalarType.BFloat16)
        {
            using var scope = NewDisposeScope();
            var result = Conv2dFloat(input.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32), stride, padding);
            return result.to(ScalarType.BFloat16).MoveToOuterDisposeScope();
        }
        return Conv2dFloat(input, weight, bias, stride, padding);
    }

    /// <summary>The route a convolution of this shape takes in this process (deciding it, with a check, if it is new).</summary>
    /// <param name="shape">The convolution.</param>
    /// <returns>The route.</returns>
    public static ConvolutionRoute RouteFor(ConvolutionShape shape)
    {
        var decision = EnsureGuarded();
        if (decision.Policy == ConvolutionPathPolicy.Reference) return ConvolutionRoute.Reference;
        if (decision.OneDnnRight != false) return ConvolutionRoute.Native;
        var key = new ShapeKey(shape.In, shape.Out, shape.Kernel, shape.Stride, shape.Padding, shape.Height, shape.Width, get_num_threads());
        return Routes.GetOrAdd(key, static (k, batch) => ProbeRoute(k, batch), shape.Batch);
    }

    /// <summary>
    /// The shapes checked so far on a CPU where oneDNN is wrong, with their routes, one entry per shape and thread count
    /// (empty elsewhere), ordered by shape and threads.
    /// </summary>
    public static IReadOnlyList<CheckedConvolution> CheckedShapes =>
        Routes.Select(p => new CheckedConvolution(
                new ConvolutionShape(0, p.Key.In, p.Key.Out, p.Key.Kernel, p.Key.Stride, p.Key.Padding, p.Key.Height, p.Key.Width), p.Key.Threads, p.Value))
            .OrderBy(c => c.Shape.In).ThenBy(c => c.Shape.Out).ThenBy(c => c.Shape.Kernel).ThenBy(c => c.Shape.Stride).ThenBy(c => c.Shape.Padding)
            .ThenBy(c => c.Shape.Height).ThenBy(c => c.Shape.Width).ThenBy(c => c.Threads).ToList();

    /// <summary>
    /// The self-check: small convolutions (channel counts that are not multiples of 16, stride 1 and 2, forward and
    /// backward), GroupNorm, linear and scaled-dot-product attention, in float32 and bfloat16, through the paths this
    /// process uses, each against float64 on the same values. Tens of milliseconds.
    /// </summary>
    /// <param name="depth">Quick (the self-check) or a sweep over every op the models use at 1 and 2 threads.</param>
    /// <param name="throwOnFailure">Throw <see cref="NumericsCheckException"/> when a check fails (the default).</param>
    /// <returns>The report.</returns>
    /// <exception cref="NumericsCheckException">A check failed and <paramref name="throwOnFailure"/> is true.</exception>
    public static NumericsReport Verify(NumericsCheckDepth depth = NumericsCheckDepth.Quick, bool throwOnFailure = true)
    {
        var decision = EnsureGuarded();
        var watch = Stopwatch.StartNew();
        var checks = NumericsSelfCheck.Run(depth);
        var report = new NumericsReport(decision, checks, watch.Elapsed.TotalMilliseconds, get_num_threads(), LibTorchSwitches.OneDnnVersion());
        if (throwOnFailure && report.Failures.Count > 0) throw new NumericsCheckException(report);
        return report;
    }

    /// <summary>libtorch's own convolution, as this CPU computes it (corrupted for a simulated fault in tests).</summary>
    internal static Tensor NativeConv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        var output = nn.functional.conv2d(input, weight, bias, [stride, stride], [padding, padding]);
        if (SimulatedOneDnnFault is { } fault && input.dtype == ScalarType.Float32
            && fault(new ConvolutionShape(input.shape[0], input.shape[1], weight.shape[0], weight.shape[2], stride, padding, input.shape[2], input.shape[3])))
            return output * 1.5; // wrong forward and backward, like the defect
        return output;
    }

    /// <summary>Forgets the decision and the checked shapes (tests only: the decision is process-wide).</summary>
    internal static void ResetForTests(ConvolutionPathPolicy? policy)
    {
        lock (Gate)
        {
            _decision = null;
            _configuredPolicy = policy;
            Routes.Clear();
        }
    }

    private static Tensor Conv2dFloat(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        if (input.dtype != ScalarType.Float32 || input.dim() != 4 || weight.dim() != 4)
            return nn.functional.conv2d(input, weight, bias, [stride, stride], [padding, padding]);
        var shape = new ConvolutionShape(input.shape[0], input.shape[1], weight.shape[0], weight.shape[2], stride, padding, input.shape[2], input.shape[3]);
        return RouteFor(shape) == ConvolutionRoute.Reference
            ? ReferenceConvolution.Conv2d(input, weight, bias, stride, padding)
            : NativeConv2d(input, weight, bias, stride, padding);
    }

    private static NumericsDecision Decide()
    {
        var (policy, source) = RequestedPolicy();
        var watch = Stopwatch.StartNew();
        bool nnpackDisabled = false;
        // NNPACK is only a fallback on x86; where it cannot initialise, libtorch prints a warning at every convolution
        // that considers it (thousands of lines in one run with one thread). Asking once prints it once.
        if (LibTorchSwitches.NnpackEnabled == true && LibTorchSwitches.NnpackAvailable() == false)
            nnpackDisabled = LibTorchSwitches.TrySetNnpackEnabled(false);

        bool? right = null;
        var failures = new List<string>();
        if (policy == ConvolutionPathPolicy.Auto)
        {
            using var noGradOutside = no_grad(); // the canaries ask for their own gradients
            int current = get_num_threads();
            foreach (var threads in current == 1 ? new[] { 1 } : [1, current])
            {
                set_num_threads(threads);
                try
                {
                    foreach (var canary in NumericsSelfCheck.ConvolutionCanaries)
                    {
                        var error = ConvolutionCheck.WorstError(canary, (x, w, b) => NativeConv2d(x, w, b, canary.Stride, canary.Padding), seed: 17);
                        if (!(error <= OpCheck.Float32Tolerance))
                            failures.Add($"{canary} threads {threads}: relative error {error:G3}");
                    }
                }
                finally
                {
                    set_num_threads(current);
                }
            }
            right = failures.Count == 0;
        }
        return new NumericsDecision(policy, source, right, failures, CpuDescription.Current, nnpackDisabled, watch.Elapsed.TotalMilliseconds);
    }

    private static (ConvolutionPathPolicy Policy, string Source) RequestedPolicy()
    {
        if (_configuredPolicy is { } configured) return (configured, "code");
        var text = Environment.GetEnvironmentVariable(PolicyEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return (ConvolutionPathPolicy.Auto, "default");
        return text.Trim().ToLowerInvariant() switch
        {
            "auto" => (ConvolutionPathPolicy.Auto, "environment"),
            "onednn" => (ConvolutionPathPolicy.OneDnn, "environment"),
            "reference" => (ConvolutionPathPolicy.Reference, "environment"),
            _ => throw new ArgumentException(
                $"{PolicyEnvironmentVariable}='{text}' names no convolution path: use auto (check the CPU, the default), onednn (trust oneDNN) or reference (never oneDNN)."),
        };
    }

    /// <summary>
    /// The family of convolutions oneDNN 3.7.1 gets wrong on AMD Zen 5: blocked layouts with a channel count that is not
    /// a multiple of 16, and stride-2 convolutions. On a CPU whose canaries failed these never take oneDNN, whatever a
    /// probe says: the wrong results come and go between calls (measured on Zen 5: 3->8, 8->3 and 32->4 shapes passed
    /// both probes of one process and were wrong later in it), so a probe can clear a shape by chance.
    /// </summary>
    internal static bool InOneDnnFaultFamily(long inChannels, long outChannels, long stride) =>
        inChannels % 16 != 0 || outChannels % 16 != 0 || stride != 1;

    /// <summary>Probes per shape outside the fault family (each with other values).</summary>
    private const int ProbesPerShape = 4;

    private static ConvolutionRoute ProbeRoute(ShapeKey key, long batch)
    {
        var probe = new ConvolutionShape(Math.Min(batch, 2), key.In, key.Out, key.Kernel, key.Stride, key.Padding, key.Height, key.Width);
        if (InOneDnnFaultFamily(key.In, key.Out, key.Stride))
        {
            _logger?.LogDebug("Convolution {Shape} at {Threads} thread(s): in oneDNN's fault family, route Reference.", probe, key.Threads);
            return ConvolutionRoute.Reference;
        }
        // The shape as it will run (batch capped at 2: the cost of the check), several times with different values so
        // that a kernel that reads uninitialised memory, or is wrong only sometimes, is caught when it looks right once.
        double worst = 0;
        using (no_grad())
            for (int seed = 1; seed <= ProbesPerShape; seed++)
                worst = Math.Max(worst, ConvolutionCheck.WorstError(probe, (x, w, b) => NativeConv2d(x, w, b, key.Stride, key.Padding), seed));
        var route = worst <= OpCheck.Float32Tolerance ? ConvolutionRoute.Native : ConvolutionRoute.Reference;
        _logger?.LogDebug("Convolution {Shape} at {Threads} thread(s): oneDNN relative error {Error:G3}, route {Route}.", probe, key.Threads, worst, route);
        return route;
    }

    private readonly record struct ShapeKey(long In, long Out, long Kernel, long Stride, long Padding, long Height, long Width, int Threads);
}
