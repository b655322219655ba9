using System.Globalization;
using System.Text;
using TailorPO.Rewards.Clip;
using TailorPO.Core.Threading;
using TailorPO.Shapes.Dataset;
using static TorchSharp.torch;

namespace TailorPO.Samples.RewardPretraining;

/// <summary>How well a preference model separates one attribute.</summary>
/// <param name="Attribute">The attribute.</param>
/// <param name="CaptionPairs">(image, one-attribute-off caption) pairs scored.</param>
/// <param name="CaptionWins">Pairs where the image's own caption scored higher.</param>
/// <param name="Images">Images scored.</param>
/// <param name="CaptionAllWins">Images whose own caption scored higher than every one-attribute-off caption of this attribute.</param>
/// <param name="ImagePairs">(caption, one-attribute-off image) pairs scored: the image redrawn with this attribute changed (same size, position and pattern phase), drawable ones only.</param>
/// <param name="ImageWins">Pairs where the caption scored its own image higher.</param>
public sealed record AttributeRetrieval(SceneAttribute Attribute, int CaptionPairs, int CaptionWins, int Images, int CaptionAllWins, int ImagePairs, int ImageWins)
{
    /// <summary>Caption side, pairwise: <see cref="CaptionWins"/> / <see cref="CaptionPairs"/>.</summary>
    public double CaptionAccuracy => CaptionPairs == 0 ? double.NaN : (double)CaptionWins / CaptionPairs;

    /// <summary>Caption side, all at once: <see cref="CaptionAllWins"/> / <see cref="Images"/>.</summary>
    public double CaptionAllAccuracy => Images == 0 ? double.NaN : (double)CaptionAllWins / Images;

    /// <summary>Image side, pairwise: <see cref="ImageWins"/> / <see cref="ImagePairs"/>.</summary>
    public double ImageAccuracy => ImagePairs == 0 ? double.NaN : (double)ImageWins / ImagePairs;
}

/// <summary>
/// Retrieval accuracy of a CLIP-style preference model per attribute, on images of the held-out
/// combinations (never trained on) and, for comparison, on fresh images of the training combinations.
/// </summary>
/// <param name="HeldOut">Per attribute, on held-out combinations.</param>
/// <param name="Training">Per attribute, on fresh draws of the training combinations.</param>
public sealed record RetrievalReport(IReadOnlyList<AttributeRetrieval> HeldOut, IReadOnlyList<AttributeRetrieval> Training)
{
    /// <summary>Seed of the evaluation images (fixed, so every model is scored on the same images).</summary>
    public const long EvaluationSeed = 20_261_207;

    private const int Chunk = 128;

    /// <summary>Scores <paramref name="images"/> images of each split.</summary>
    /// <param name="reward">The preference model.</param>
    /// <param name="images">Images per split.</param>
    /// <param name="side">Image side in pixels.</param>
    public static RetrievalReport Measure(ClipScoreReward reward, int images, int side = 32)
    {
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentOutOfRangeException.ThrowIfLessThan(images, 1);
        using var noGrad = no_grad();
        var captions = CaptionVariants.AllCaptionScenes().Select(s => s.Caption).ToList();
        var captionIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < captions.Count; i++) captionIndex[captions[i]] = i;
        using var textEmbeds = Embed(captions.Count, (start, count) => reward.NormalizedTextEmbeddings(captions.GetRange(start, count)));
        var text = textEmbeds.to(ScalarType.Float32).cpu();
        return new RetrievalReport(
            MeasureSplit(reward, DatasetSplit.HeldOut, images, side, text, captionIndex),
            MeasureSplit(reward, DatasetSplit.Training, images, side, text, captionIndex));
    }

    private static List<AttributeRetrieval> MeasureSplit(ClipScoreReward reward, DatasetSplit split, int count, int side, Tensor text, Dictionary<string, int> captionIndex)
    {
        var dataset = new ShapeDataset(EvaluationSeed, split, side);
        var scenes = Enumerable.Range(0, count).Select(i => dataset.Scene(i)).ToList();
        var imageEmbeds = EmbedScenes(reward, scenes, side);
        var captionScores = imageEmbeds.matmul(text.t()); // [N, all captions]
        var scores = captionScores.data<float>().ToArray();
        var columns = (int)text.shape[0];

        // Image side: every drawable one-attribute-off image, scored against the original caption.
        var variants = scenes.Select(s => CaptionVariants.For(s).Where(v => v.IsDrawable).ToList()).ToList();
        var variantScenes = variants.SelectMany(v => v.Select(x => x.Scene)).ToList();
        var variantEmbeds = EmbedScenes(reward, variantScenes, side).data<float>().ToArray();
        var ownEmbeds = imageEmbeds.data<float>().ToArray();
        var textValues = text.data<float>().ToArray();
        var dim = (int)text.shape[1];

        var results = new List<AttributeRetrieval>();
        foreach (var attribute in CaptionVariants.Attributes)
        {
            int pairs = 0, wins = 0, allWins = 0, imagePairs = 0, imageWins = 0, offset = 0;
            for (var i = 0; i < scenes.Count; i++)
            {
                var own = scores[i * columns + captionIndex[scenes[i].Caption]];
                var all = true;
                foreach (var variant in CaptionVariants.For(scenes[i], attribute))
                {
                    pairs++;
                    if (own > scores[i * columns + captionIndex[variant.Caption]]) wins++;
                    else all = false;
                }
                if (all) allWins++;

                var caption = captionIndex[scenes[i].Caption];
                var ownImage = Dot(ownEmbeds, i, textValues, caption, dim);
                for (var v = 0; v < variants[i].Count; v++)
                {
                    if (variants[i][v].Attribute == attribute)
                    {
                        imagePairs++;
                        if (ownImage > Dot(variantEmbeds, offset + v, textValues, caption, dim)) imageWins++;
                    }
                }
                offset += variants[i].Count;
            }
            results.Add(new AttributeRetrieval(attribute, pairs, wins, scenes.Count, allWins, imagePairs, imageWins));
        }
        return results;
    }

    private static double Dot(float[] a, int row, float[] b, int column, int dim)
    {
        double sum = 0;
        for (var k = 0; k < dim; k++) sum += a[row * dim + k] * b[column * dim + k];
        return sum;
    }

    private static Tensor EmbedScenes(ClipScoreReward reward, IReadOnlyList<ShapeScene> scenes, int side)
    {
        var list = scenes.ToList();
        using var embeds = Embed(list.Count, (start, count) =>
        {
            using var images = ShapeDataset.Render(list.GetRange(start, count), side);
            using var unit = ((images + 1) / 2).clamp(0, 1);
            return reward.NormalizedImageEmbeddings(unit.to(reward.Vision.parameters().First().device));
        });
        return embeds.to(ScalarType.Float32).cpu();
    }

    private static Tensor Embed(int count, Func<int, int, Tensor> embed)
    {
        var parts = new List<Tensor>();
        try
        {
            for (var start = 0; start < count; start += Chunk)
                using (FinalizerGate.Close())
                    parts.Add(embed(start, Math.Min(Chunk, count - start)));
            return cat(parts, 0);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    /// <summary>The report as Markdown: a table per attribute with the columns explained.</summary>
    /// <param name="header">A line about the model (how it was trained).</param>
    public string ToMarkdown(string? header = null)
    {
        var text = new StringBuilder();
        text.AppendLine("# Retrieval report of the preference model").AppendLine();
        if (header is not null) text.AppendLine(header).AppendLine();
        var images = HeldOut.Count > 0 ? HeldOut[0].Images : 0;
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{images} images of held-out combinations (shape, shape colour, background colour never seen together in training) and {images} fresh images of training combinations, seed {EvaluationSeed}."))
            .AppendLine();
        text.AppendLine("| attribute | caption side, held-out | all variants beaten, held-out | image side, held-out | caption side, training combinations |");
        text.AppendLine("|---|---|---|---|---|");
        for (var a = 0; a < HeldOut.Count; a++)
        {
            var h = HeldOut[a];
            var t = Training[a];
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {CaptionVariants.Name(h.Attribute)} | {Percent(h.CaptionWins, h.CaptionPairs)} | {Percent(h.CaptionAllWins, h.Images)} | {Percent(h.ImageWins, h.ImagePairs)} | {Percent(t.CaptionWins, t.CaptionPairs)} |"));
        }
        text.AppendLine();
        text.AppendLine("- **caption side**: for each image and each caption that differs from the image's own in exactly this attribute, does the own caption score higher? (pairs won / pairs; shape has 3 such captions per image, the colours 7, the pattern 3.)");
        text.AppendLine("- **all variants beaten**: images whose own caption scores higher than every one-attribute-off caption of this attribute at once.");
        text.AppendLine("- **image side**: for each image's own caption and each redrawn image that differs in exactly this attribute (same size, position and pattern phase; only drawable ones, where the shape stands out from its background), does the caption score its own image higher?");
        text.AppendLine("- **training combinations**: the caption side on fresh images of combinations seen in training, for comparison.");
        return text.ToString();
    }

    private static string Percent(int wins, int total) =>
        total == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * wins / total:F1}% ({wins}/{total})");
}
