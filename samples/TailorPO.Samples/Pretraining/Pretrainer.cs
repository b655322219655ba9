using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TailorPO.Core.Threading;
using TailorPO.Core.Safetensors;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Diffusion.UNet;
using TailorPO.Shapes.Dataset;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Samples.Pretraining;

/// <summary>The record a checkpoint keeps of its run (state folder, progress.json).</summary>
/// <param name="Step">Steps done.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Steps">The run's total steps.</param>
/// <param name="BatchSize">The run's batch size.</param>
public sealed record CheckpointProgress(int Step, long Seed, int Steps, int BatchSize);

/// <summary>What a pretraining run did.</summary>
/// <param name="StepsDone">Steps completed in total (including resumed ones).</param>
/// <param name="Completed">True when every step ran (false after cancellation or the time limit).</param>
/// <param name="FinalAverageLoss">Mean loss over the last 50 steps.</param>
/// <param name="Elapsed">Wall time of this run.</param>
/// <param name="OutputFolder">The model folder written.</param>
public sealed record PretrainResult(int StepsDone, bool Completed, double FinalAverageLoss, TimeSpan Elapsed, string OutputFolder);

/// <summary>
/// Trains the tiny pixel-space text-to-image model from scratch on the <see cref="ShapeDataset"/>:
/// UNet and CLIP text encoder jointly, the standard epsilon-prediction MSE on
/// <see cref="NoiseSchedule.AddNoise"/>, caption dropout to the empty prompt (so classifier-free
/// guidance works), AdamW with warm-up and cosine decay, gradient clipping, and an exponential moving
/// average of the weights, which is what the model folder holds. Every draw of step <c>k</c> (images,
/// dropout, timesteps, noise) is a function of (seed, k), so a resumed run sees the same data.
/// </summary>
public sealed class Pretrainer
{
    private const int LossWindow = 50;
    private const string WeightsFile = "weights.safetensors";
    private const string OptimizerFile = "optimizer.bin";
    private const string ProgressFile = "progress.json";
    private const string LossFile = "loss.csv";

    /// <summary>Runs (or resumes) pretraining.</summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="device">Where to train.</param>
    /// <param name="progress">Reported after every step.</param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    public PretrainResult Run(PretrainOptions options, Device device, IProgress<PretrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        var design = options.Design;
        var tokenizer = ClipTokenizer.FromFolder(options.TokenizerFolder);
        if (tokenizer.VocabularySize != design.VocabularySize)
            throw new InvalidOperationException($"The tokenizer in '{options.TokenizerFolder}' has {tokenizer.VocabularySize} tokens; the design expects {design.VocabularySize}.");

        var schedule = new NoiseSchedule(SchedulerConfig.Parse(design.SchedulerConfig().ToJsonString(), "the tiny model's scheduler config"));
        var dataset = new ShapeDataset(options.Seed, DatasetSplit.Training, design.ImageSize);

        using var unet = new UNet2DConditionModel(UNet2DConditionConfig.FromJson(design.UNetConfig().ToJsonString(), "the tiny model's UNet config"));
        using var textEncoder = new CLIPTextModel(CLIPTextConfig.FromJson(design.TextEncoderConfig().ToJsonString(), "the tiny model's text encoder config"));
        WeightInitializer.Initialize(unet, new Generator((ulong)Mix(options.Seed, 1)));
        WeightInitializer.Initialize(textEncoder, new Generator((ulong)Mix(options.Seed, 2)));
        unet.to(device);
        textEncoder.to(device);
        unet.train();
        textEncoder.train();

        var parameters = Named(unet, textEncoder);
        var ema = parameters.ToDictionary(p => p.Key, p => (Tensor)p.Value.detach().clone());
        using var optimizer = optim.AdamW(parameters.Values, lr: options.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: options.WeightDecay);

        Directory.CreateDirectory(options.StateFolder);
        var firstStep = 0;
        if (options.Resume && File.Exists(Path.Combine(options.StateFolder, ProgressFile)))
            firstStep = LoadState(options, parameters, ema, optimizer);

        var losses = new Queue<double>();
        var stopwatch = Stopwatch.StartNew();
        var step = firstStep;
        var lastCheckpoint = firstStep;
        var lossLog = new List<string>();
        var completed = true;
        while (step < options.Steps)
        {
            if (cancellationToken.IsCancellationRequested || (options.TimeLimit is { } limit && stopwatch.Elapsed >= limit))
            {
                completed = false;
                break;
            }

            var learningRate = LearningRate(options, step);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
            double loss;
            // The gate keeps TorchSharp's finalizers from freeing an operand under a native call (docs/performance.md).
            using (FinalizerGate.Close())
            using (var scope = NewDisposeScope())
            {
                loss = TrainStep(options, step, dataset, tokenizer, schedule, unet, textEncoder, parameters, optimizer, device);
                UpdateEma(ema, parameters, EmaDecay(options, step));
            }
            step++;
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"The loss became {loss} at step {step}; lower --lr or check the data. The last checkpoint (step {lastCheckpoint}) is intact.");

            losses.Enqueue(loss);
            if (losses.Count > LossWindow) losses.Dequeue();
            lossLog.Add(string.Create(CultureInfo.InvariantCulture, $"{step},{loss:G6},{learningRate:G6},{stopwatch.Elapsed.TotalSeconds:F1}"));

            var checkpoint = step % options.CheckpointEvery == 0 || step == options.Steps;
            if (checkpoint)
            {
                SaveCheckpoint(options, step, parameters, ema, optimizer, lossLog);
                lastCheckpoint = step;
            }
            progress?.Report(new PretrainProgress(step, options.Steps, loss, losses.Average(), learningRate, stopwatch.Elapsed, checkpoint));
        }

        if (step != lastCheckpoint)
            SaveCheckpoint(options, step, parameters, ema, optimizer, lossLog);
        foreach (var tensor in ema.Values) tensor.Dispose();
        return new PretrainResult(step, completed, losses.Count > 0 ? losses.Average() : double.NaN, stopwatch.Elapsed, Path.GetFullPath(options.OutputFolder));
    }

    /// <summary>The learning rate of a step: linear warm-up, then cosine decay from the peak to a tenth of it.</summary>
    public static double LearningRate(PretrainOptions options, int step)
    {
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / options.WarmupSteps;
        var progress = (double)(step - options.WarmupSteps) / Math.Max(1, options.Steps - options.WarmupSteps);
        return options.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress))));
    }

    /// <summary>
    /// Per-sample weights of the epsilon MSE: <c>clamp(1 / SNR(t), 1, cap)</c>, SNR = abar / (1 - abar). The
    /// epsilon MSE weighs an error in the predicted image by SNR, so at the noise levels where only the
    /// caption can tell the colours (SNR well below 0.1) it hardly trains anything; this weight raises those
    /// timesteps up to <paramref name="cap"/> times (the x0 error, truncated) and leaves SNR &gt;= 1 as it is.
    /// </summary>
    public static Tensor LossWeights(NoiseSchedule schedule, Tensor timesteps, double cap)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(timesteps);
        using var scope = NewDisposeScope();
        var abar = tensor(schedule.AlphasCumprod.ToArray(), ScalarType.Float32, timesteps.device).index_select(0, timesteps);
        var inverseSnr = (1.0f - abar) / abar;
        return inverseSnr.clamp(1.0, cap).MoveToOuterDisposeScope();
    }

    /// <summary>Seed of stream <paramref name="stream"/> derived from the run seed.</summary>
    internal static long Mix(long seed, long stream) => (long)(new SplitMix64(seed, stream).Next() >> 1);

    private static double EmaDecay(PretrainOptions options, int step) => Math.Min(options.EmaDecay, (1.0 + step) / (10.0 + step));

    private static double TrainStep(PretrainOptions options, int step, ShapeDataset dataset, ClipTokenizer tokenizer, NoiseSchedule schedule,
        UNet2DConditionModel unet, CLIPTextModel textEncoder, Dictionary<string, Parameter> parameters, AdamW optimizer, Device device)
    {
        var batch = options.BatchSize;
        var (images, captions, _) = dataset.Batch((long)step * batch, batch);
        var prompts = new string[batch];
        for (var i = 0; i < batch; i++)
        {
            var dropout = new SplitMix64(Mix(options.Seed, 3), (long)step * batch + i);
            prompts[i] = dropout.NextDouble() < options.CaptionDropout ? string.Empty : captions[i];
        }

        var generator = new Generator((ulong)Mix(Mix(options.Seed, 4), step), device);
        var x0 = images.to(device);
        var timesteps = randint(0, schedule.NumTrainTimesteps, [batch], ScalarType.Int64, device, generator: generator);
        var noise = randn(x0.shape, ScalarType.Float32, device, generator: generator);
        var noisy = schedule.AddNoise(x0, noise, timesteps);

        var ids = tokenizer.EncodeForModel(prompts, options.Design.MaxTokens).InputIdsTensor(device);
        optimizer.zero_grad();
        var text = textEncoder.forward(ids);
        var prediction = unet.forward(noisy, timesteps, text);
        var perSample = (prediction - noise).square().mean([1, 2, 3]);
        var loss = options.SnrWeightCap > 1
            ? (perSample * LossWeights(schedule, timesteps, options.SnrWeightCap)).mean()
            : perSample.mean();
        loss.backward();
        nn.utils.clip_grad_norm_(parameters.Values, options.MaxGradNorm);
        optimizer.step();
        return loss.item<float>();
    }

    private static Dictionary<string, Parameter> Named(UNet2DConditionModel unet, CLIPTextModel textEncoder)
    {
        var named = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        foreach (var (name, p) in unet.named_parameters()) named["unet." + name] = p;
        foreach (var (name, p) in textEncoder.named_parameters()) named["text_encoder." + name] = p;
        return named;
    }

    private static void UpdateEma(Dictionary<string, Tensor> ema, Dictionary<string, Parameter> parameters, double decay)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
            ema[name].mul_(decay).add_(p.detach(), alpha: 1 - decay);
    }

    private static void SaveCheckpoint(PretrainOptions options, int step, Dictionary<string, Parameter> parameters,
        Dictionary<string, Tensor> ema, AdamW optimizer, List<string> lossLog)
    {
        var metadata = new Dictionary<string, string>
        {
            ["tailorpo_pretrain_seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["tailorpo_pretrain_step"] = step.ToString(CultureInfo.InvariantCulture),
        };
        using (var scope = NewDisposeScope())
        {
            var unet = ema.Where(p => p.Key.StartsWith("unet.", StringComparison.Ordinal)).ToDictionary(p => p.Key["unet.".Length..], p => p.Value);
            var text = ema.Where(p => p.Key.StartsWith("text_encoder.", StringComparison.Ordinal)).ToDictionary(p => p.Key["text_encoder.".Length..], p => p.Value);
            ModelFolderWriter.Write(options.OutputFolder, options.Design, options.TokenizerFolder, unet, text, ScalarType.Float16, metadata);

            var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (name, p) in parameters) state["raw." + name] = p.detach().cpu();
            foreach (var (name, e) in ema) state["ema." + name] = e.cpu();
            SafetensorsWriter.Save(Path.Combine(options.StateFolder, WeightsFile), state, metadata);
        }

        var optimizerPath = Path.Combine(options.StateFolder, OptimizerFile);
        optimizer.save_state_dict(optimizerPath + ".tmp");
        File.Move(optimizerPath + ".tmp", optimizerPath, overwrite: true);

        var lossPath = Path.Combine(options.StateFolder, LossFile);
        if (!File.Exists(lossPath)) File.WriteAllText(lossPath, "step,loss,learning_rate,elapsed_seconds\n");
        File.AppendAllLines(lossPath, lossLog);
        lossLog.Clear();

        var progressPath = Path.Combine(options.StateFolder, ProgressFile);
        File.WriteAllText(progressPath + ".tmp", JsonSerializer.Serialize(new CheckpointProgress(step, options.Seed, options.Steps, options.BatchSize)));
        File.Move(progressPath + ".tmp", progressPath, overwrite: true);
    }

    private static int LoadState(PretrainOptions options, Dictionary<string, Parameter> parameters, Dictionary<string, Tensor> ema, AdamW optimizer)
    {
        var progress = ReadCheckpoint(options.StateFolder) ?? throw new InvalidDataException($"'{options.StateFolder}' holds no {ProgressFile}.");
        if (progress.Seed != options.Seed || progress.BatchSize != options.BatchSize)
            throw new InvalidOperationException(
                $"The checkpoint in '{options.StateFolder}' was made with seed {progress.Seed} and batch {progress.BatchSize}; this run asks for seed {options.Seed} and batch {options.BatchSize}. Use the same values or another --state folder.");

        using var scope = NewDisposeScope();
        var state = SafetensorsFile.LoadAll(Path.Combine(options.StateFolder, WeightsFile));
        using (no_grad())
        {
            foreach (var (name, p) in parameters)
            {
                p.copy_(state["raw." + name]);
                ema[name].copy_(state["ema." + name]);
            }
        }
        optimizer.load_state_dict(Path.Combine(options.StateFolder, OptimizerFile));
        return progress.Step;
    }

    /// <summary>The progress record of a state folder's checkpoint; null when it holds none.</summary>
    /// <exception cref="InvalidDataException">The record is unreadable.</exception>
    public static CheckpointProgress? ReadCheckpoint(string stateFolder)
    {
        var path = Path.Combine(stateFolder, ProgressFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<CheckpointProgress>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"'{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a checkpoint record: {e.Message}", e);
        }
    }
}
