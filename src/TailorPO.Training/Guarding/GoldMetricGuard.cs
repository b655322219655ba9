using System.Globalization;
using Microsoft.Extensions.Logging;
using TailorPO.Core.Abstractions;
using TailorPO.Training.Metrics;
using static TorchSharp.torch;

namespace TailorPO.Training.Guarding;

/// <summary>
/// The trainer's reward-hacking guard: reads the <see cref="IGoldMetric"/> when due, keeps a detached copy of the best
/// adapters (by gold), counts the evaluations in a row in which the proxy rose while the gold fell, stops and restores.
/// </summary>
internal sealed class GoldMetricGuard : IDisposable
{
    /// <summary>The prefix of the best adapters' tensors in a checkpoint's state.safetensors.</summary>
    public const string TensorPrefix = "gold_guard.best.";

    private readonly IGoldMetric _metric;
    private readonly GoldMetricGuardOptions _options;
    private readonly IReadOnlyList<IGoldMetricSink> _sinks;
    private readonly IAdapter _adapter;
    private readonly ILogger _logger;
    private List<GoldMetricEvaluation> _history = [];
    private List<Tensor>? _best;
    private long _lastEvaluatedImages = -1;
    private int _streak;
    private double _bestGold = double.NaN;
    private long _bestImages = -1;
    private string? _stopReason;

    public GoldMetricGuard(IGoldMetric metric, GoldMetricGuardOptions options, IEnumerable<IGoldMetricSink> sinks, IAdapter adapter, ILogger logger)
    {
        _metric = metric;
        _options = options;
        _sinks = sinks.ToList();
        _adapter = adapter;
        _logger = logger;
    }

    public bool Stopped { get; private set; }

    public string Metric => _metric.Name;

    public long LastEvaluatedImages => _lastEvaluatedImages;

    public bool Restored { get; private set; }

    /// <summary>True when a reading is due at <paramref name="images"/>: no baseline yet, or a multiple of EveryImages passed.</summary>
    public bool IsDue(long images) => !Stopped && (_lastEvaluatedImages < 0
        || images >= (_lastEvaluatedImages / _options.EveryImages + 1) * _options.EveryImages);

    /// <summary>Reads the metric, records the row, keeps a new best, and stops (restoring) after the patience.</summary>
    public void Evaluate(long images, int iteration, TrainingStepMetrics? latest, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        GoldMetricReading reading;
        using (no_grad())
        using (NewDisposeScope())
            reading = _metric.Evaluate(images, cancellationToken) ?? throw new InvalidOperationException($"The gold metric '{_metric.Name}' returned no reading.");
        if (!double.IsFinite(reading.Gold) || !double.IsFinite(reading.Proxy))
            throw new InvalidOperationException(
                $"The gold metric '{_metric.Name}' read gold = {reading.Gold}, proxy = {reading.Proxy} at {images} images; both must be finite.");

        var previous = _history.LastOrDefault(e => e.Event != GoldMetricEvent.RestoredBest);
        GoldMetricEvent kind;
        if (previous is null)
        {
            kind = GoldMetricEvent.Baseline;
            _streak = 0;
        }
        else
        {
            var proxyRose = reading.Proxy > previous.Proxy;
            var goldFell = reading.Gold < previous.Gold - _options.Tolerance;
            _streak = proxyRose && goldFell ? _streak + 1 : 0;
            kind = reading.Gold > _bestGold ? GoldMetricEvent.NewBest
                : _streak >= _options.Patience ? GoldMetricEvent.Stopped
                : _streak > 0 ? GoldMetricEvent.Diverging
                : GoldMetricEvent.Evaluated;
        }
        if (kind is GoldMetricEvent.Baseline or GoldMetricEvent.NewBest)
        {
            KeepBest();
            _bestGold = reading.Gold;
            _bestImages = images;
        }
        _lastEvaluatedImages = images;
        Append(new GoldMetricEvaluation(images, iteration, reading.Proxy, reading.ProxyStandardError, reading.Gold, reading.GoldStandardError,
            _bestGold, _bestImages, _streak, latest?.LogRatioMargin ?? double.NaN, latest?.LogRatioDrift ?? double.NaN, kind));
        _logger.LogInformation(
            "Gold metric {Metric} at {Images} images: gold {Gold:G4} (best {BestGold:G4} at {BestImages}), proxy {Proxy:G4}, log-ratio margin {Margin:G4}, drift {Drift:G4}: {Event}.",
            _metric.Name, images, reading.Gold, _bestGold, _bestImages, reading.Proxy, latest?.LogRatioMargin ?? double.NaN,
            latest?.LogRatioDrift ?? double.NaN, CsvGoldMetricSink.EventName(kind));
        if (kind != GoldMetricEvent.Stopped) return;
        Stopped = true;
        var window = _history.Where(e => e.Event != GoldMetricEvent.RestoredBest).TakeLast(_options.Patience + 1).ToList();
        _stopReason = string.Create(CultureInfo.InvariantCulture,
            $"the proxy rose while the gold fell for {_options.Patience} evaluations in a row (images {string.Join(" -> ", window.Select(e => e.Images))}: " +
            $"proxy {string.Join(" -> ", window.Select(e => e.Proxy.ToString("G4", CultureInfo.InvariantCulture)))}, " +
            $"gold {string.Join(" -> ", window.Select(e => e.Gold.ToString("G4", CultureInfo.InvariantCulture)))})");
        _logger.LogInformation("Reward-hacking guard stopped training at {Images} images: {Reason}.", images, _stopReason);
        if (_options.RestoreBest) RestoreBest(images, iteration, latest, "the guard stopped training");
    }

    /// <summary>At the end of training: restores the best adapters when the last gold is below the best by more than the tolerance.</summary>
    public void Finish(long images, int iteration, TrainingStepMetrics? latest)
    {
        // A run extended after an end-of-run restore restores again only if its own last reading fell behind the best.
        if (Stopped || !_options.RestoreBest || _history.Count == 0 || _history[^1].Event == GoldMetricEvent.RestoredBest) return;
        var last = _history[^1];
        if (!(last.Gold < _bestGold - _options.Tolerance)) return;
        RestoreBest(images, iteration, latest, $"the last gold {last.Gold:G4} is below the best {_bestGold:G4} by more than the tolerance {_options.Tolerance:G4}");
    }

    public GoldMetricGuardSummary Summary()
    {
        var readings = _history.Where(e => e.Event != GoldMetricEvent.RestoredBest).ToList();
        return new GoldMetricGuardSummary(_metric.Name, readings.Count, _bestImages, _bestGold, readings.Count > 0 ? readings[^1].Gold : double.NaN,
            Stopped, _stopReason, Restored, _history.ToList());
    }

    /// <summary>The state for a checkpoint's manifest (the best adapters' tensors come from <see cref="BestTensors"/>).</summary>
    public GoldMetricGuardState ExportState() => new()
    {
        Metric = _metric.Name,
        EveryImages = _options.EveryImages,
        Patience = _options.Patience,
        Tolerance = _options.Tolerance,
        History = _history.ToList(),
        LastEvaluatedImages = _lastEvaluatedImages,
        Streak = _streak,
        BestGold = _bestGold,
        BestImages = _bestImages,
        Stopped = Stopped,
        StopReason = _stopReason,
        Restored = Restored,
    };

    /// <summary>The best adapters by parameter name (the guard's own tensors: not to be disposed), or none before the baseline.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> BestTensors()
    {
        if (_best is null) yield break;
        var parameters = _adapter.TrainableParameters;
        for (var i = 0; i < parameters.Count; i++) yield return new(TensorPrefix + parameters[i].Name, _best[i]);
    }

    /// <summary>The problems of resuming <paramref name="state"/> (null: written without the guard) under the current options.</summary>
    public static IEnumerable<string> ResumeProblems(GoldMetricGuardState? state, GoldMetricGuardOptions options, string? metric, long samples, string manifest)
    {
        if (state is null)
        {
            if (options.Enabled && samples > 0)
                yield return $"'{manifest}' was written without the gold-metric guard, so it holds no baseline or best adapters: resume with " +
                    "GoldMetricGuard.EveryImages = 0, or start the run again with the guard on.";
            yield break;
        }
        if (!options.Enabled)
        {
            yield return $"'{manifest}' was written with the gold-metric guard on (every {state.EveryImages} images, metric '{state.Metric}'); " +
                "resume with the same guard settings and metric (a run without them would continue a different run).";
            yield break;
        }
        if (state.EveryImages != options.EveryImages || state.Patience != options.Patience || !state.Tolerance.Equals(options.Tolerance))
            yield return $"'{manifest}' was written with the gold-metric guard every {state.EveryImages} images, patience {state.Patience}, tolerance {state.Tolerance}; " +
                $"this trainer has {options.EveryImages}, {options.Patience}, {options.Tolerance}: resume with the checkpoint's settings.";
        if (metric is not null && !string.Equals(state.Metric, metric, StringComparison.Ordinal))
            yield return $"'{manifest}' was guarded by the gold metric '{state.Metric}'; this trainer has '{metric}'.";
    }

    /// <summary>Restores the state and the best adapters read from a checkpoint (tensors by name; copied).</summary>
    public void ImportState(GoldMetricGuardState state, IReadOnlyDictionary<string, Tensor> tensors, string folder)
    {
        var best = new List<Tensor>();
        if (state.LastEvaluatedImages >= 0)
        {
            foreach (var (name, parameter) in _adapter.TrainableParameters)
            {
                if (!tensors.TryGetValue(TensorPrefix + name, out var saved))
                {
                    foreach (var t in best) t.Dispose();
                    throw new InvalidDataException($"The checkpoint '{folder}' has gold-guard history but no best adapter tensor '{TensorPrefix + name}'.");
                }
                if (!saved.shape.SequenceEqual(parameter.shape))
                {
                    foreach (var t in best) t.Dispose();
                    throw new InvalidDataException($"The checkpoint '{folder}' holds '{TensorPrefix + name}' of shape [{string.Join(", ", saved.shape)}]; the adapter's is [{string.Join(", ", parameter.shape)}].");
                }
                best.Add(saved.to(parameter.dtype, parameter.device).clone().DetachFromDisposeScope());
            }
        }
        DisposeBest();
        _best = best.Count > 0 ? best : null;
        _history = state.History.ToList();
        _lastEvaluatedImages = state.LastEvaluatedImages;
        _streak = state.Streak;
        _bestGold = state.BestGold;
        _bestImages = state.BestImages;
        Stopped = state.Stopped;
        _stopReason = state.StopReason;
        Restored = state.Restored;
        foreach (var sink in _sinks) sink.Write(_history);
    }

    public void Dispose() => DisposeBest();

    private void KeepBest()
    {
        // The copies are the guard's until replaced or disposed; the scope takes the intermediate detached views.
        var copies = new List<Tensor>();
        using (no_grad())
        using (NewDisposeScope())
            foreach (var (_, parameter) in _adapter.TrainableParameters)
                copies.Add(parameter.detach().clone().DetachFromDisposeScope());
        DisposeBest();
        _best = copies;
    }

    private void RestoreBest(long images, int iteration, TrainingStepMetrics? latest, string reason)
    {
        if (_best is null) return;
        using (no_grad())
        {
            var parameters = _adapter.TrainableParameters;
            for (var i = 0; i < parameters.Count; i++) parameters[i].Parameter.copy_(_best[i]);
        }
        Restored = true;
        var best = _history.Last(e => e.Images == _bestImages && e.Event is GoldMetricEvent.Baseline or GoldMetricEvent.NewBest);
        Append(new GoldMetricEvaluation(images, iteration, best.Proxy, best.ProxyStandardError, best.Gold, best.GoldStandardError,
            _bestGold, _bestImages, _streak, latest?.LogRatioMargin ?? double.NaN, latest?.LogRatioDrift ?? double.NaN, GoldMetricEvent.RestoredBest));
        _logger.LogInformation("Restored the best adapters (gold {BestGold:G4} at {BestImages} images) at {Images} images: {Reason}.", _bestGold, _bestImages, images, reason);
    }

    private void Append(GoldMetricEvaluation row)
    {
        _history.Add(row);
        foreach (var sink in _sinks) sink.Write(_history);
    }

    private void DisposeBest()
    {
        if (_best is null) return;
        foreach (var t in _best) t.Dispose();
        _best = null;
    }
}
