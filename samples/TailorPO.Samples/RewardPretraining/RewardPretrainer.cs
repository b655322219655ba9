using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TailorPO.Core.IO;
using TailorPO.Core.Threading;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Clip;
using TailorPO.Samples.Pretraining;
using TailorPO.Shapes.Dataset;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Samples.RewardPretraining;

/// <summary>What a reward pretraining run did.</summary>
/// <param name="StepsDone">Steps completed.</param>
/// <param name="Completed">True when every step ran (false after cancellation or the time limit).</param>
/// <param name="FinalAverageLoss">Mean loss over the last 50 steps.</param>
/// <param name="Elapsed">Wall time of the training (not the report).</param>
/// <param name="OutputFolder">The CLIPModel folder written.</param>
/// <param name="Report">The retrieval report (null when <see cref="RewardPretrainOptions.EvaluationImages"/> is 0).</param>
public sealed record RewardPretrainResult(int StepsDone, bool Completed, double FinalAverageLoss, TimeSpan Elapsed, string OutputFolder, RetrievalReport? Report);

/// <summary>
/// Trains the embedded preference model, a tiny CLIP, from scratch on the <see cref="ShapeDataset"/>'s
/// training split. The loss is CLIP's symmetric InfoNCE over the batch (images against their captions)
/// plus, per image, a cross-entropy over its true caption and its one-attribute-off captions
/// (<see cref="CaptionVariants"/>), one term per attribute, the shape term weighted by
/// <see cref="RewardPretrainOptions.ShapeWeight"/>: the InfoNCE alone rarely meets a batch caption that
/// differs in the shape only, so it learns colours first and shapes hardly at all. Captions of held-out
/// combinations are never used, not even as negatives. AdamW with warm-up and cosine decay, gradient
/// clipping; every draw is a function of the seed, so a run is deterministic at a given thread count.
/// The folder is written in transformers' <c>CLIPModel</c> layout (float16), then scored on held-out
/// combinations (<see cref="RetrievalReport"/>, written as retrieval.md).
/// </summary>
public sealed class RewardPretrainer
{
    private const int LossWindow = 50;

    /// <summary>The weights file of a CLIPModel folder.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The retrieval report's file in the model folder.</summary>
    public const string ReportFile = "retrieval.md";

    /// <summary>The tokenizer files copied from the source tokenizer folder.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles = ModelFolderWriter.TokenizerFiles;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs training, writes the folder and its retrieval report.</summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="device">Where to train.</param>
    /// <param name="progress">Reported after every step.</param>
    /// <param name="cancellationToken">Stops after the current step; the model trained so far is written.</param>
    public RewardPretrainResult Run(RewardPretrainOptions options, Device device, IProgress<RewardPretrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        var problems = options.Degradation.Problems().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        var design = options.Design;
        var tokenizer = ClipTokenizer.FromFolder(options.TokenizerFolder);
        if (tokenizer.VocabularySize != design.VocabularySize)
            throw new InvalidOperationException($"The tokenizer in '{options.TokenizerFolder}' has {tokenizer.VocabularySize} tokens; the design expects {design.VocabularySize}.");

        var configJson = design.Config().ToJsonString();
        using var vision = new CLIPVisionModelWithProjection(CLIPVisionConfig.FromJson(configJson, "the preference model's config"));
        using var text = new CLIPTextModelWithProjection(CLIPTextConfig.FromJson(configJson, "the preference model's config"));
        WeightInitializer.Initialize(vision, new Generator((ulong)Pretrainer.Mix(options.Seed, 11)));
        WeightInitializer.Initialize(text, new Generator((ulong)Pretrainer.Mix(options.Seed, 12)));
        vision.to(device);
        text.to(device);
        vision.train();
        text.train();
        using var logitScale = new Parameter(tensor((float)PreferenceModelDesign.InitialLogitScale, ScalarType.Float32, device));

        var dataset = new ShapeDataset(options.Seed, DatasetSplit.Training, design.ImageSize);
        // Every caption of a training combination (drawable or not): the true captions and their usable hard negatives.
        var universe = CaptionVariants.AllCaptionScenes()
            .Where(s => !ShapeVocabulary.IsHeldOut(s.Shape, s.Color, s.Background))
            .Select(s => s.Caption).ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < universe.Count; i++) index[universe[i]] = i;
        using var universeIds = tokenizer.EncodeForModel(universe, design.MaxTokens).InputIdsTensor(device);

        var parameters = vision.parameters().Concat(text.parameters()).Append(logitScale).ToList();
        using var optimizer = optim.AdamW(parameters, lr: options.LearningRate, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: options.WeightDecay);

        var losses = new Queue<double>();
        var shapeHits = new Queue<double>();
        var stopwatch = Stopwatch.StartNew();
        var step = 0;
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
            double loss, shapeAccuracy, scale;
            // The gate keeps TorchSharp's finalizers from freeing an operand under a native call (docs/performance.md): without
            // it a 1,800-step run died at step ~1,350 in c10::Scalar::toFloat on the Zen 5 machine.
            using (FinalizerGate.Close())
            using (NewDisposeScope())
            {
                (loss, shapeAccuracy) = TrainStep(options, step, dataset, index, universeIds, vision, text, logitScale, parameters, optimizer, device);
                scale = Math.Exp(Math.Min(logitScale.item<float>(), PreferenceModelDesign.MaxLogitScale));
            }
            step++;
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"The loss became {loss} at step {step}; lower --lr.");

            losses.Enqueue(loss);
            shapeHits.Enqueue(shapeAccuracy);
            if (losses.Count > LossWindow)
            {
                losses.Dequeue();
                shapeHits.Dequeue();
            }
            progress?.Report(new RewardPretrainProgress(step, options.Steps, loss, losses.Average(), shapeHits.Average(), scale, learningRate, stopwatch.Elapsed));
        }
        var elapsed = stopwatch.Elapsed;

        using (no_grad())
        {
            logitScale.clamp_max_(PreferenceModelDesign.MaxLogitScale);
        }
        var metadata = new Dictionary<string, string>
        {
            ["tailorpo_pretrain_reward_seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["tailorpo_pretrain_reward_step"] = step.ToString(CultureInfo.InvariantCulture),
        };
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in vision.named_parameters()) weights[name] = p;
        foreach (var (name, p) in text.named_parameters()) weights[name] = p;
        weights["logit_scale"] = logitScale;
        WriteFolder(options.OutputFolder, design, options.TokenizerFolder, weights, metadata);

        RetrievalReport? report = null;
        if (options.EvaluationImages > 0)
        {
            var folder = Path.GetFullPath(options.OutputFolder);
            using var reward = ClipScoreReward.FromPretrained(folder, ClipTokenizer.FromFolder(folder), device: device, name: "shapes-preference");
            report = RetrievalReport.Measure(reward, options.EvaluationImages, design.ImageSize);
            var header = string.Create(CultureInfo.InvariantCulture,
                $"Model: `pretrain-reward` seed {options.Seed}, {step} steps x {options.BatchSize} images ({elapsed.TotalMinutes:F1} min of training), patch {design.PatchSize}, vision {design.VisionLayers} x {design.VisionHiddenSize}, text {design.TextLayers} x {design.TextHiddenSize}, shape weight {options.ShapeWeight}.");
            AtomicFile.WriteAllText(Path.Combine(folder, ReportFile), report.ToMarkdown(header));
        }
        return new RewardPretrainResult(step, completed, losses.Count > 0 ? losses.Average() : double.NaN, elapsed, Path.GetFullPath(options.OutputFolder), report);
    }

    /// <summary>The learning rate of a step: linear warm-up, then cosine decay from the peak to a tenth of it.</summary>
    public static double LearningRate(RewardPretrainOptions options, int step)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / options.WarmupSteps;
        var progress = (double)(step - options.WarmupSteps) / Math.Max(1, options.Steps - options.WarmupSteps);
        return options.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress))));
    }

    private static (double Loss, double ShapeAccuracy) TrainStep(RewardPretrainOptions options, int step, ShapeDataset dataset,
        Dictionary<string, int> index, Tensor universeIds, CLIPVisionModelWithProjection vision, CLIPTextModelWithProjection text,
        Parameter logitScale, List<Parameter> parameters, AdamW optimizer, Device device)
    {
        var batch = options.BatchSize;
        var universe = (int)universeIds.shape[0];
        var (images, captions, scenes) = dataset.Batch((long)step * batch, batch);
        var truth = new long[batch];
        for (var i = 0; i < batch; i++) truth[i] = index[captions[i]];

        // Per attribute, the candidates of each image's cross-entropy: its caption and its one-attribute-off captions.
        var attributes = CaptionVariants.Attributes;
        var masks = new bool[attributes.Count][];
        for (var a = 0; a < attributes.Count; a++)
        {
            var mask = masks[a] = new bool[batch * universe];
            for (var i = 0; i < batch; i++)
            {
                mask[i * universe + truth[i]] = true;
                foreach (var variant in CaptionVariants.For(scenes[i], attributes[a]))
                    if (index.TryGetValue(variant.Caption, out var j)) mask[i * universe + j] = true;
            }
        }
        // The InfoNCE must not call a batch neighbour with the same caption a negative.
        var duplicates = new bool[batch * batch];
        for (var i = 0; i < batch; i++)
            for (var j = 0; j < batch; j++)
                duplicates[i * batch + j] = i != j && truth[i] == truth[j];

        optimizer.zero_grad();
        var imageEmbeds = vision.forward(options.Degradation.Apply(images, options.Seed, step).to(device));
        imageEmbeds = imageEmbeds / imageEmbeds.norm(1, keepdim: true);
        var textEmbeds = text.forward(universeIds);
        textEmbeds = textEmbeds / textEmbeds.norm(1, keepdim: true);
        var logits = logitScale.clamp_max(PreferenceModelDesign.MaxLogitScale).exp() * imageEmbeds.matmul(textEmbeds.t()); // [B, U]

        var truthIndex = tensor(truth, ScalarType.Int64, device);
        var targets = arange(batch, ScalarType.Int64, device);
        var batchLogits = logits.index_select(1, truthIndex)
            .masked_fill(tensor(duplicates, [batch, batch]).to(device), float.NegativeInfinity);
        var infoNce = (nn.functional.cross_entropy(batchLogits, targets) + nn.functional.cross_entropy(batchLogits.t(), targets)) / 2;

        var trueLogit = logits.gather(1, truthIndex.unsqueeze(1)).squeeze(1);
        Tensor? hard = null;
        double weightSum = 0;
        Tensor? shapeAccuracy = null;
        for (var a = 0; a < attributes.Count; a++)
        {
            var weight = attributes[a] == SceneAttribute.Shape ? options.ShapeWeight : 1.0;
            var candidates = logits.masked_fill(tensor(masks[a], [batch, universe]).to(device).logical_not(), float.NegativeInfinity);
            var term = (candidates.logsumexp(1) - trueLogit).mean() * weight;
            hard = hard is null ? term : hard + term;
            weightSum += weight;
            if (attributes[a] == SceneAttribute.Shape)
                shapeAccuracy = candidates.detach().argmax(1).eq(truthIndex).to(ScalarType.Float32).mean();
        }
        var loss = infoNce + hard! / weightSum * options.HardNegativeWeight;
        loss.backward();
        nn.utils.clip_grad_norm_(parameters, options.MaxGradNorm);
        optimizer.step();
        return (loss.item<float>(), shapeAccuracy!.item<float>());
    }

    /// <summary>
    /// Writes a transformers CLIPModel folder (config.json, model.safetensors in float16, preprocessor_config.json,
    /// vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json), assembled under a temporary
    /// name next to the target and swapped in.
    /// </summary>
    internal static void WriteFolder(string folder, PreferenceModelDesign design, string tokenizerFolder,
        IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, string> metadata)
    {
        var target = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            WriteJson(Path.Combine(staging, "config.json"), design.Config());
            WriteJson(Path.Combine(staging, "preprocessor_config.json"), design.PreprocessorConfig());
            using (NewDisposeScope())
            {
                var converted = weights.ToDictionary(p => p.Key, p => p.Value.detach().to(ScalarType.Float16).cpu().contiguous(), StringComparer.Ordinal);
                var meta = new Dictionary<string, string>(metadata) { ["format"] = "pt" };
                SafetensorsWriter.Save(Path.Combine(staging, WeightsFile), converted, meta);
            }
            ClipTokenizerFolder.Write(staging, tokenizerFolder, design.MaxTokens);
            ModelFolderWriter.Swap(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(Indented) + "\n");
}
