using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Sections;
using TailorPO.Reproduction.Statistics;
using TailorPO.Samples.Cli;

namespace TailorPO.Samples.Tests;

/// <summary><c>compare --quick</c> end to end: every section of results.md with a table of numbers and a decodable plot.</summary>
public partial class CompareCommandTests
{
    [Fact]
    public void Compare_quick_writes_every_section_with_a_numeric_table_and_a_plot_and_caches_every_run()
    {
        using var folder = new TemporaryFolder();
        var docs = folder.Combine("docs");
        var work = folder.Combine("work");
        var (code, output) = CliRunner.Run("compare", "--quick", "--output", docs, "--work", work, "--threads", "1");
        Assert.True(code == ExitCodes.Success, output);

        var page = File.ReadAllText(Path.Combine(docs, ReproductionPage.FileName));
        Assert.DoesNotContain("**Incomplete:**", page);
        var titles = ReproductionPage.SectionTitles;
        for (var i = 0; i < titles.Count; i++)
        {
            var start = page.IndexOf(titles[i], StringComparison.Ordinal);
            Assert.True(start >= 0, $"results.md has no section '{titles[i]}'");
            var end = i + 1 < titles.Count ? page.IndexOf(titles[i + 1], StringComparison.Ordinal) : page.Length;
            var section = page[start..end];

            // A markdown table whose data rows hold measured numbers (mean ± std).
            var rows = section.Split('\n').Where(l => l.StartsWith('|') && !l.StartsWith("| ---", StringComparison.Ordinal)).Skip(1).ToList();
            Assert.True(rows.Count > 0, $"{titles[i]}: no table rows");
            Assert.Contains(rows, row => MeanAndStd().Matches(row).Any(m => double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)));

            // Every plot it links exists and decodes.
            var images = ImageLink().Matches(section).Select(m => m.Groups[1].Value).ToList();
            Assert.True(images.Count > 0, $"{titles[i]}: no plot");
            foreach (var image in images)
            {
                using var bitmap = SKBitmap.Decode(Path.Combine(docs, image));
                Assert.True(bitmap is { Width: > 0, Height: > 0 }, $"{image} does not decode");
            }
            Assert.Contains("_Produced by `tailorpo compare --quick", section);
        }

        // Every claim carries a verdict of the v2 statistics (Welch / TOST under Holm), none the old two-standard-error rule.
        Assert.Matches(@"\*\*(reproduced|contradicted|inconclusive)\*\* \(", page);
        Assert.Contains("Holm p = ", page);
        Assert.DoesNotContain("within two standard errors", page);
        // The equal-updates and equal-NFE claims and the reward-vs-NFE curve exist.
        Assert.Contains("(equal updates)", page);
        Assert.Contains("(equal NFE)", page);
        Assert.Contains("results/sec1-nfe-colorfulness.png", page);
        // The quick run prints the full page's estimated time.
        Assert.Contains("Estimated CPU time of the full page", output);

        // The numbers come from the measured data: section 1 recomputed from the runs' cached evaluations, Holm over the page's own p-values.
        AssertSectionOneIsComputedFromTheCachedRuns(page, work);
        AssertHolmAdjustsThePagesOwnPValues(page);
        AssertTheHeadlineGoldCellsComeFromTheCachedGrades(page, work);

        // Every training run left its cached result at the image budget (an interrupted run resumes from these).
        var runs = Directory.GetDirectories(Path.Combine(work, "runs"));
        Assert.NotEmpty(runs);
        Assert.All(runs, run => Assert.True(File.Exists(Path.Combine(run, $"stage-{ComparisonSizing.Quick.Budget}.json")), $"{run} has no stage result at the image budget"));

        // A second invocation trains nothing: every run and analysis comes from the cache.
        var (again, secondOutput) = CliRunner.Run("compare", "--quick", "--output", docs, "--work", work, "--threads", "1");
        Assert.True(again == ExitCodes.Success, secondOutput);
        Assert.DoesNotContain("trained in", secondOutput);

        // So does a --reverse one (the second process of docs/reproduction.md's "Using both cores"): it measures the sections
        // backwards and still writes the same tables and verdicts (only timings and the command line may differ).
        var reverseDocs = folder.Combine("docs-reverse");
        var (reversed, reverseOutput) = CliRunner.Run("compare", "--quick", "--output", reverseDocs, "--work", work, "--threads", "1", "--reverse");
        Assert.True(reversed == ExitCodes.Success, reverseOutput);
        Assert.DoesNotContain("trained in", reverseOutput);
        var (lastSection, firstSection) = (reverseOutput.IndexOf($"section {titles.Count} of", StringComparison.Ordinal), reverseOutput.IndexOf("section 1 of", StringComparison.Ordinal));
        Assert.True(lastSection >= 0 && lastSection < firstSection, "--reverse measures the last section first");
        static List<string> Results(string markdown) => markdown.Split('\n')
            .Where(l => l.StartsWith('|') || Regex.IsMatch(l, @"\*\*(reproduced|contradicted|inconclusive)\*\*")).ToList();
        Assert.Equal(Results(page), Results(File.ReadAllText(Path.Combine(reverseDocs, ReproductionPage.FileName))));
    }

    [Fact]
    public void Compare_refuses_a_file_as_the_docs_folder_before_any_work()
    {
        using var folder = new TemporaryFolder();
        var file = folder.Combine("docs.txt");
        File.WriteAllText(file, "");
        var (code, output) = CliRunner.Run("compare", "--quick", "--output", file);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("is a file; give the docs folder", output);
    }

    [Fact]
    public void Compare_refuses_a_seed_because_its_seeds_are_part_of_the_sizing()
    {
        var (code, output) = CliRunner.Run("compare", "--quick", "--seed", "3");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("drop --seed", output);
    }

    /// <summary>
    /// Recomputes section 1 from the files the runs left in the work folder (stage-&lt;images&gt;.json, base.json), read as plain
    /// JSON and with the arithmetic written out here: the base row, every method's equal-images and equal-updates cells and
    /// update counts, and every claim decided on those values (TailorPO vs the base model, the equal-updates comparisons).
    /// A page whose numbers were typed in, or taken from anything but these runs, fails.
    /// </summary>
    private static void AssertSectionOneIsComputedFromTheCachedRuns(string page, string work)
    {
        var sizing = ComparisonSizing.Quick;
        var index = ReproductionPage.Sections.ToList().FindIndex(x => x is MethodComparisonSection);
        var section = Section(page, ReproductionPage.SectionTitles[index], ReproductionPage.SectionTitles[index + 1]);
        var bullets = Bullets(section).ToDictionary(b => b.Statement);
        using var baseJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "base.json")));
        foreach (var reward in MethodComparisonSection.Rewards)
        {
            var part = Section(section, $"### Trained and evaluated on {reward}", "### ");
            var baseValues = HeldOut(baseJson.RootElement, reward);
            Assert.Contains($"| base model | - | {MeanStd(baseValues)} (std over evaluation seeds) |", part);
            var baseMean = baseValues.Average();

            var atUpdates = new Dictionary<string, double[]>();
            foreach (var method in MethodComparisonSection.Methods(reward))
            {
                var run = new ComparisonRun(method, reward, 0, sizing.TrainedSteps, sizing.LearningRates[0]);
                var equalUpdatesImages = sizing.Budget * run.ImagesPerUpdateFactor;
                var atImages = sizing.Seeds.Select(seed => Stage(work, run.WithSeed(seed), sizing.Budget)).ToList();
                var updates = sizing.Seeds.Select(seed => Stage(work, run.WithSeed(seed), equalUpdatesImages)).ToList();
                atUpdates[method] = updates.Select(st => HeldOut(st.GetProperty("Scores"), reward).Average()).ToArray();
                // The method's first row is the results table's (its second is the learning-rate sweep's).
                var row = part.Split('\n').First(l => l.StartsWith($"| {MethodComparisonSection.Label(method)} |", StringComparison.Ordinal));
                var cells = row.Split('|').Select(x => x.Trim()).ToArray();
                Assert.Equal(MeanStd(atImages.Select(st => HeldOut(st.GetProperty("Scores"), reward).Average()).ToArray()), cells[3]);
                Assert.Equal(MeanStd(atUpdates[method]), cells[4]);
                Assert.Equal(MeanStd(updates.Select(st => (double)st.GetProperty("Samples").GetInt64()).ToArray(), "F0"), cells[5]);
                Assert.Equal(MeanStd(updates.Select(st => (double)st.GetProperty("Updates").GetInt64()).ToArray(), "F0"), cells[6]);
                Assert.Equal(MeanStd(updates.Select(st => (double)st.GetProperty("NoiseEvaluations").GetInt64()).ToArray(), "F0"), cells[7]);
            }

            // TailorPO vs the base model: a one-sample t-test on the change, n - 1 = 1 degree of freedom with two seeds,
            // where Student's t is the Cauchy distribution: two-sided p = 1 - 2 atan(|t|) / pi.
            var change = sizing.Seeds.Select(seed => HeldOut(Stage(work, new ComparisonRun("tailorpo", reward, seed, sizing.TrainedSteps, sizing.LearningRates[0]),
                sizing.Budget).GetProperty("Scores"), reward).Average() - baseMean).ToArray();
            Assert.Equal(2, change.Length);
            var (d, se) = (change.Average(), Std(change) / Math.Sqrt(2));
            var above = bullets[$"{reward}: TailorPO > base model"];
            Assert.Equal(Evidence(d, se, 1), above.Evidence);
            AssertP(1 - 2 * Math.Atan(Math.Abs(d / se)) / Math.PI, above.P, $"{reward}: TailorPO > base model");

            // The equal-updates comparisons: Welch's t and its Welch–Satterthwaite df, the p from Student's t CDF at that df.
            var pairs = new List<(string A, string B)> { ("tailorpo", "d3po"), ("tailorpo", "ddpo"), ("tailorpo", "diffusion-dpo") };
            if (atUpdates.ContainsKey("tailorpo-g")) pairs.AddRange([("tailorpo-g", "tailorpo"), ("tailorpo-g", "d3po")]);
            foreach (var (a, b) in pairs)
            {
                var (xa, xb) = (atUpdates[a], atUpdates[b]);
                var (qa, qb) = (Math.Pow(Std(xa), 2) / xa.Length, Math.Pow(Std(xb), 2) / xb.Length);
                var welchSe = Math.Sqrt(qa + qb);
                var df = (qa + qb) * (qa + qb) / (qa * qa / (xa.Length - 1) + qb * qb / (xb.Length - 1));
                var statement = $"{reward}: {MethodComparisonSection.Label(a)} > {MethodComparisonSection.Label(b)} (equal updates)";
                var bullet = bullets[statement];
                Assert.Equal(Evidence(xa.Average() - xb.Average(), welchSe, df), bullet.Evidence);
                var t = (xa.Average() - xb.Average()) / welchSe;
                AssertP(Math.Min(1, 2 * StudentT.Cdf(-Math.Abs(t), df)), bullet.P, statement);
            }
        }
    }

    /// <summary>
    /// Every claim bullet on the page: the Holm-adjusted p-values are Holm's step-down correction (written out here) of the
    /// raw p-values the page prints, over as many claims as the header says the page holds.
    /// </summary>
    private static void AssertHolmAdjustsThePagesOwnPValues(string page)
    {
        var bullets = Bullets(page).Where(b => b.P != "n/a").ToList();
        var declared = int.Parse(ClaimCount().Match(page).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(declared, Bullets(page).Count());
        var raw = bullets.Select(b => Parse(b.P)).ToArray();
        var m = raw.Length;
        var order = Enumerable.Range(0, m).OrderBy(i => raw[i]).ToArray();
        var running = 0.0;
        for (var k = 0; k < m; k++)
        {
            running = Math.Max(running, Math.Min(1, (m - k) * raw[order[k]]));
            // The page rounds raw p to 4 decimals (2 significant digits below 1e-4): Holm multiplies that rounding by up to m.
            var expected = running;
            var actual = Parse(bullets[order[k]].Holm);
            Assert.True(Math.Abs(actual - expected) <= m * 5e-5 + 0.05 * expected,
                $"{bullets[order[k]].Statement}: Holm p {actual} but Holm over the page's p-values gives {expected}");
        }
    }

    /// <summary>
    /// The headline section's gold accuracy of every method at equal updates, recomputed from the grades the runs left in the
    /// work folder (analyses/preference-grade-&lt;run&gt;-at&lt;images&gt;.json, read as plain JSON), and its gold claims present.
    /// </summary>
    private static void AssertTheHeadlineGoldCellsComeFromTheCachedGrades(string page, string work)
    {
        var sizing = ComparisonSizing.Quick;
        var index = ReproductionPage.Sections.ToList().FindIndex(x => x is PreferenceHeadlineSection);
        var section = Section(page, ReproductionPage.SectionTitles[index], ReproductionPage.SectionTitles[index + 1]);
        Assert.Contains("preference: TailorPO > base model (gold: all four right)", section);
        foreach (var method in PreferenceHeadlineSection.Methods)
        {
            // The quick preference grid has one rate, so it is every method's choice.
            var run = new ComparisonRun(method, PreferenceHeadlineSection.Reward, 0, sizing.TrainedSteps, sizing.PreferenceLearningRates[0]);
            var equalUpdatesImages = sizing.Budget * run.ImagesPerUpdateFactor;
            var shares = sizing.Seeds.Select(seed =>
            {
                var path = Path.Combine(work, "analyses", PreferenceHeadlineSection.GradeKey(run.WithSeed(seed), equalUpdatesImages) + ".json");
                Assert.True(File.Exists(path), $"{path} is missing");
                using var json = JsonDocument.Parse(File.ReadAllText(path));
                // Accuracy: shape, shape colour, background colour, pattern, all four.
                return 100 * json.RootElement.GetProperty("Accuracy")[4].GetDouble();
            }).ToArray();
            var row = section.Split('\n').First(l => l.StartsWith($"| {MethodComparisonSection.Label(method)} |", StringComparison.Ordinal));
            var cells = row.Split('|').Select(x => x.Trim()).ToArray();
            Assert.Equal(MeanStd(shares, "F1") + "%", cells[10]);
        }
    }

    private static string Section(string text, string title, string next)
    {
        var start = text.IndexOf(title, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{title}'");
        var end = text.IndexOf(next, start + title.Length, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    private static IEnumerable<(string Statement, string Evidence, string P, string Holm)> Bullets(string text) =>
        ClaimBullet().Matches(text).Select(x => (x.Groups["statement"].Value, x.Groups["evidence"].Value, x.Groups["p"].Value, x.Groups["holm"].Value));

    private static JsonElement Stage(string work, ComparisonRun run, int images)
    {
        var path = Path.Combine(work, "runs", run.Key, $"stage-{images}.json");
        Assert.True(File.Exists(path), $"{path} is missing");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return json.RootElement.Clone();
    }

    private static double[] HeldOut(JsonElement scores, string reward) =>
        scores.GetProperty("HeldOut").GetProperty(reward).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    private static double Std(double[] values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    private static string MeanStd(double[] values, string format = "G4") => string.Create(CultureInfo.InvariantCulture,
        $"{values.Average().ToString(format, CultureInfo.InvariantCulture)} ± {Std(values).ToString(format, CultureInfo.InvariantCulture)}");

    private static string Evidence(double d, double se, double df) => string.Create(CultureInfo.InvariantCulture, $"d = {d:G3} ± {se:G2}, t({df:G3}) = {d / se:F2}");

    private static double Parse(string p) => double.Parse(p, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static void AssertP(double expected, string printed, string what)
    {
        var actual = Parse(printed);
        Assert.True(Math.Abs(actual - expected) <= 5e-5 + 0.05 * expected, $"{what}: the page says p = {printed}, the cached runs give {expected:R}");
    }

    // Evidence: "d = ..., t(df) = ..." for t-tests, "k/n = ...%" for exact binomial tests.
    [GeneratedRegex(@"^- (?<statement>.+?): \*\*(?:reproduced|contradicted|inconclusive)\*\* \((?<evidence>[^;]+); [^;]*? p = (?<p>[^,]+), Holm p = (?<holm>[^)]+)\)", RegexOptions.Multiline)]
    private static partial Regex ClaimBullet();

    [GeneratedRegex(@"This page holds (\d+) claims")]
    private static partial Regex ClaimCount();

    [GeneratedRegex(@"(-?\d+(?:\.\d+)?(?:E[-+]?\d+)?) ?%? ± ")]
    private static partial Regex MeanAndStd();

    [GeneratedRegex(@"!\[[^\]]*\]\(([^)]+\.png)\)")]
    private static partial Regex ImageLink();
}
