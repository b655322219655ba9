using Microsoft.Extensions.Logging;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Vae;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Vae;

/// <summary>
/// The loaders report through <see cref="ModelLoadOptions.LoggerFactory"/> what they loaded (the file, its tensor
/// count, the model's parameter count) and which legacy keys they converted; the counts are read from the files and
/// the model, not stated.
/// </summary>
public sealed class LoaderLoggingTests
{
    [Fact]
    public void A_legacy_vae_reports_every_converted_key_and_what_it_loaded()
    {
        var renamed = new List<string>();
        using var legacy = VaeTestSupport.CopyModel(w =>
        {
            foreach (var key in w.Keys.Where(k => k.Contains(".attentions.0.to_q.", StringComparison.Ordinal)).ToList())
                renamed.Add(key);
            VaeTestSupport.RenameAll(w, ".attentions.0.to_q.", ".attentions.0.query.");
        });
        Assert.NotEmpty(renamed);
        var weightsFile = Path.Combine(legacy.Path, VaeTestSupport.WeightsName);
        int tensorCount;
        using (var file = SafetensorsFile.Open(weightsFile)) tensorCount = file.Names.Count;

        var log = new RecordingLoggerFactory();
        using var scope = NewDisposeScope();
        using var vae = AutoencoderKL.FromPretrained(legacy.Path, new ModelLoadOptions { LoggerFactory = log });

        // The CPU numerics guard reports its decision once per process through the first logger it is given, and its
        // per-shape probes (debug) through that logger afterwards: whether that is this test's depends on the test
        // order. Besides the loader's own lines the log may hold the guard's lines and nothing else.
        var others = log.Entries.Where(e => e.Category != ModelLoader.LogCategory).ToList();
        Assert.All(others, e => Assert.Equal(typeof(TailorPO.Core.Numerics.TorchNumerics).FullName, e.Category));
        Assert.True(others.Count(e => e.Level >= LogLevel.Information) <= 1, "the guard's decision is reported once");
        var loaderEntries = log.Entries.Where(e => e.Category == ModelLoader.LogCategory).ToList();
        Assert.NotEmpty(loaderEntries);

        var conversion = Assert.Single(loaderEntries, e => e.Level == LogLevel.Information && e.Message.Contains("converted"));
        Assert.Contains($"converted {renamed.Count} legacy checkpoint keys", conversion.Message);
        var perKey = loaderEntries.Where(e => e.Level == LogLevel.Debug).Select(e => e.Message).ToList();
        Assert.Equal(renamed.Count, perKey.Count);
        foreach (var current in renamed)
            Assert.Contains(perKey, m => m.EndsWith($"{current.Replace(".to_q.", ".query.", StringComparison.Ordinal)} -> {current}", StringComparison.Ordinal));

        var loaded = Assert.Single(loaderEntries, e => e.Level == LogLevel.Information && e.Message.StartsWith("Loaded", StringComparison.Ordinal));
        var parameters = vae.parameters().Sum(p => p.numel());
        Assert.Contains(weightsFile, loaded.Message);
        Assert.Contains($"{tensorCount} tensors, {parameters:N0} parameters as Float32", loaded.Message);
    }

    [Fact]
    public void Without_a_logger_factory_nothing_is_required()
    {
        using var scope = NewDisposeScope();
        using var copy = VaeTestSupport.CopyModel();
        using var vae = AutoencoderKL.FromPretrained(copy.Path, new ModelLoadOptions());
        Assert.NotEmpty(vae.parameters());
    }

    private sealed record Entry(string Category, LogLevel Level, string Message);

    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        public List<Entry> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Entries) owner.Entries.Add(new Entry(category, logLevel, formatter(state, exception)));
            }
        }
    }
}
