using System.Globalization;
using System.Text.RegularExpressions;
using SkiaSharp;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
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

        // Every training run left its cached result at the image budget (an interrupted run resumes from these).
        var runs = Directory.GetDirectories(Path.Combine(work, "runs"));
        Assert.NotEmpty(runs);
        Assert.All(runs, run => Assert.True(File.Exists(Path.Combine(run, $"stage-{ComparisonSizing.Quick.Budget}.json")), $"{run} has no stage result at the image budget"));

        // A second invocation trains nothing: every run and analysis comes from the cache.
        var (again, secondOutput) = CliRunner.Run("compare", "--quick", "--output", docs, "--work", work, "--threads", "1");
        Assert.True(again == ExitCodes.Success, secondOutput);
        Assert.DoesNotContain("trained in", secondOutput);
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

    [GeneratedRegex(@"(-?\d+(?:\.\d+)?(?:E[-+]?\d+)?) ?%? ± ")]
    private static partial Regex MeanAndStd();

    [GeneratedRegex(@"!\[[^\]]*\]\(([^)]+\.png)\)")]
    private static partial Regex ImageLink();
}
