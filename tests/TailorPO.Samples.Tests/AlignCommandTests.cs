using System.Globalization;
using SkiaSharp;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Commands;
using TailorPO.Shapes;
using TailorPO.Training.Guarding;
using TailorPO.Training.Metrics;

namespace TailorPO.Samples.Tests;

/// <summary>The main job's CLI: bad input before any work, and a tiny end-to-end align -> generate -> evaluate.</summary>
public class AlignCommandTests
{
    private static readonly string[] Tiny = ["--steps", "5", "--trained-steps", "5", "--eval-seeds", "2", "--threads", "1", "--grade-captions", "4", "--grade-seeds", "2"];

    [Theory]
    [InlineData(new[] { "--method", "spo" }, "--method must be one of")]
    [InlineData(new[] { "--reward", "beauty" }, "--reward must be one of")]
    [InlineData(new[] { "--method", "tailorpo-g", "--reward", "jpeg-compressibility" }, "needs a differentiable reward")]
    [InlineData(new[] { "--reward", "aesthetic" }, "needs --clip-model")]
    [InlineData(new[] { "--eta", "0" }, "--eta must lie in (0, 1]")]
    [InlineData(new[] { "--grade-seeds", "1" }, "--grade-seeds must lie in [2, 1000]")]
    [InlineData(new[] { "--grade-captions", "0" }, "--grade-captions must lie in [1, 42]")]
    [InlineData(new[] { "--trained-steps", "30" }, "--trained-steps must lie in [1, --steps = 20]")]
    [InlineData(new[] { "--prompts", "/no/such/prompts.txt" }, "--prompts '/no/such/prompts.txt' does not exist")]
    [InlineData(new[] { "--model", "/no/such/model" }, "--model '/no/such/model' is not an existing folder")]
    [InlineData(new[] { "--resume", "/no/such/run" }, "is not an align run folder")]
    [InlineData(new[] { "--pairs", "/no/such/pairs.csv" }, "--pairs feeds Diffusion-DPO")]
    [InlineData(new[] { "--method", "diffusion-dpo", "--pairs", "/no/such/pairs.csv" }, "--pairs: Preference-pair CSV '/no/such/pairs.csv' does not exist")]
    [InlineData(new[] { "--lora-format", "comfy" }, "--lora-format must be one of peft, kohya")]
    [InlineData(new[] { "--guard-every", "-1" }, "--guard-every must be >= 0 (0 turns the guard off)")]
    [InlineData(new[] { "--guard-patience", "0" }, "--guard-patience must be >= 1")]
    [InlineData(new[] { "--model", "/tmp", "--guard-every", "4" }, "--guard-every needs the embedded model")]
    [InlineData(new[] { "--guidance-eta", "0.5" }, "--guidance-eta sets TailorPO-G's guidance step; it needs --method tailorpo-g (got 'tailorpo')")]
    [InlineData(new[] { "--method", "tailorpo-g", "--guidance-eta", "-1" }, "--guidance-eta must be finite and > 0")]
    public void Bad_input_is_reported_before_any_work_with_exit_code_2(string[] args, string message)
    {
        using var folder = new TemporaryFolder();
        var (code, output) = CliRunner.Run(["align", "-o", folder.Combine("run"), .. args]);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(message, output);
        Assert.False(Directory.Exists(folder.Combine("run")));
    }

    [Fact]
    public void Evaluate_refuses_an_unknown_reward_before_any_work()
    {
        var (code, output) = CliRunner.Run("evaluate", "--reward", "beauty", "--reward-seeds", "1");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--reward must be one of", output);
        Assert.Contains("--reward-seeds must lie in [2, 1000]", output);
    }

    [Fact]
    public void Several_bad_options_are_listed_together()
    {
        var (code, output) = CliRunner.Run("align", "--method", "spo", "--batch", "0", "--candidates", "1");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--method", output);
        Assert.Contains("--batch", output);
        Assert.Contains("--candidates", output);
    }

    /// <summary>
    /// Reproducibility on the running CPU (the numerics-guard issue: where libtorch computed some convolutions wrongly,
    /// two identical runs wrote different adapters and skipped updates as non-finite): the same options, seed and
    /// threads give byte-identical adapters and metrics, with no skipped update. Two iterations of two images each,
    /// every one of the five DDIM steps trained.
    /// </summary>
    [Fact]
    public void Two_identical_align_runs_write_byte_identical_adapters_with_no_skipped_update()
    {
        using var folder = new TemporaryFolder();
        byte[]? firstAdapter = null;
        string[]? firstMetrics = null;
        foreach (var name in new[] { "first", "second" })
        {
            var run = folder.Combine(name);
            var (code, output) = CliRunner.Run(["align", "--budget", "4", "--batch", "2", "-o", run, .. Tiny]);
            Assert.True(code == ExitCodes.Success, output);
            var adapter = File.ReadAllBytes(Path.Combine(run, "lora.safetensors"));
            // The metrics rows without the wall-clock column: everything else is a function of the seed.
            var header = File.ReadLines(Path.Combine(run, "metrics.csv")).First().Split(',');
            int skippedColumn = Array.IndexOf(header, "skipped"), timeColumn = Array.FindIndex(header, h => h.Contains("second", StringComparison.Ordinal) || h.Contains("time", StringComparison.Ordinal));
            var rows = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1).Select(l => l.Split(',')).ToList();
            Assert.NotEmpty(rows);
            Assert.All(rows, r => Assert.Equal("0", r[skippedColumn]));
            var metrics = rows.Select(r => string.Join(',', r.Where((_, i) => i != timeColumn))).ToArray();
            if (firstAdapter is null)
            {
                firstAdapter = adapter;
                firstMetrics = metrics;
                continue;
            }
            Assert.Equal(firstMetrics, metrics);
            Assert.True(firstAdapter.AsSpan().SequenceEqual(adapter), "the two runs wrote different lora.safetensors bytes");
        }
    }

    [Fact]
    public void A_tiny_align_writes_the_run_folder_its_LoRA_drives_generate_and_evaluate_and_it_resumes()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        var (code, output) = CliRunner.Run(["align", "--budget", "2", "-o", run, .. Tiny]);
        Assert.True(code == ExitCodes.Success, output);

        foreach (var png in new[] { "before.png", "after.png", "reward-curve.png", "training-signals.png", "proxy-vs-gold.png", "attribute-accuracy.png" })
        {
            using var bitmap = SKBitmap.Decode(Path.Combine(run, png));
            Assert.True(bitmap is { Width: > 0, Height: > 0 }, $"{png} does not decode");
        }
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal(string.Join(',', CsvMetricsSink.Columns), csv[0]);
        Assert.All(csv.Skip(1), line => double.Parse(line.Split(',')[4], CultureInfo.InvariantCulture)); // the loss column parses
        Assert.Equal(5, csv.Length - 1); // one trajectory, five trained steps
        Assert.Contains("| base model |", File.ReadAllText(Path.Combine(run, "summary.md")));
        // The guard is on by default for the embedded model (every budget / 4 images, here 1): a baseline and a reading at 2.
        var gold = File.ReadAllLines(Path.Combine(run, CsvGoldMetricSink.DefaultFileName));
        Assert.Equal(string.Join(',', CsvGoldMetricSink.Columns), gold[0]);
        Assert.Equal(["0", "2"], gold.Skip(1).Select(l => l.Split(',')).Where(f => f[^1] != "restored-best").Select(f => f[0]));
        Assert.Contains("## Reward-hacking guard", File.ReadAllText(Path.Combine(run, "summary.md")));
        // The default reward of the embedded model is its preference model; the grade (4 captions x 2 seeds here) follows.
        Assert.StartsWith("# tailorpo on preference", File.ReadAllText(Path.Combine(run, "summary.md")));
        Assert.Contains("Graded on 4 held-out captions x 2 seeds (8 images per model", File.ReadAllText(Path.Combine(run, "summary.md")));
        Assert.Contains("| training reward (preference) |", File.ReadAllText(Path.Combine(run, "summary.md")));
        Assert.Contains("`gold-metric.csv`, `proxy-vs-gold.png`", File.ReadAllText(Path.Combine(run, "summary.md")));
        using (var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder))
            Assert.NotEmpty(LoraAdapter.FromFile(pipeline.Unet, Path.Combine(run, "lora.safetensors"), ModelLoader.LoraKeyPrefix).Layers);

        (code, output) = CliRunner.Run("generate", "a red circle on a plain white background", "--lora", Path.Combine(run, "lora.safetensors"),
            "--steps", "2", "-n", "1", "-o", folder.Combine("grid.png"), "--threads", "1");
        Assert.True(code == ExitCodes.Success, output);
        (code, output) = CliRunner.Run("evaluate", "--lora", Path.Combine(run, "lora.safetensors"), "--samples", "2", "--steps", "2", "--threads", "1",
            "--reward", "jpeg-compressibility", "--reward-seeds", "2");
        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("with LoRA", output);
        Assert.Contains("standard error", output);

        // A second align into the same folder is refused; --resume continues it (to a larger budget).
        (code, output) = CliRunner.Run(["align", "--budget", "2", "-o", run, .. Tiny]);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--resume", output);
        (code, output) = CliRunner.Run("align", "--resume", run, "--budget", "4", "--threads", "1");
        Assert.True(code == ExitCodes.Success, output);
        Assert.Equal(10, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length - 1);
        Assert.Equal(["0", "2", "4"], File.ReadAllLines(Path.Combine(run, CsvGoldMetricSink.DefaultFileName)).Skip(1)
            .Select(l => l.Split(',')).Where(f => f[^1] != "restored-best").Select(f => f[0]));
    }

    [Fact]
    public void Diffusion_dpo_trains_on_a_pairs_csv_and_a_bad_line_is_reported_before_any_work()
    {
        using var folder = new TemporaryFolder();
        foreach (var (name, color) in new[] { ("red.png", SKColors.Red), ("grey.png", SKColors.Gray) })
        {
            using var bitmap = new SKBitmap(40, 40);
            using (var canvas = new SKCanvas(bitmap)) canvas.Clear(color);
            using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(folder.Combine(name), png.ToArray());
        }
        var csv = folder.Combine("pairs.csv");
        File.WriteAllLines(csv, ["prompt,preferred,dispreferred", "\"a red circle, bright\",red.png,grey.png", "a grey square,grey.png"]);
        var (code, output) = CliRunner.Run(["align", "--method", "diffusion-dpo", "--pairs", csv, "-o", folder.Combine("bad"), .. Tiny]);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("pairs.csv:3: expected 3 fields", output);

        File.WriteAllLines(csv, ["prompt,preferred,dispreferred", "\"a red circle, bright\",red.png,grey.png"]);
        var run = folder.Combine("run");
        (code, output) = CliRunner.Run(["align", "--method", "diffusion-dpo", "--pairs", folder.Path, "--budget", "2", "-o", run, .. Tiny]);
        Assert.True(code == ExitCodes.Success, output);
        Assert.Equal(Path.GetFullPath(folder.Path), System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "options.json"))).RootElement.GetProperty("PairsFile").GetString());
        Assert.True(File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length > 1);
    }

    [Fact]
    public void Lora_format_kohya_writes_the_kohya_layout_that_loads_back_with_its_alphas()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        var (code, output) = CliRunner.Run(["align", "--budget", "2", "--lora-format", "kohya", "-o", run, .. Tiny]);
        Assert.True(code == ExitCodes.Success, output);
        var path = Path.Combine(run, "lora.safetensors");
        using (var file = TailorPO.Core.Safetensors.SafetensorsFile.Open(path))
        {
            Assert.All(file.Names, k => Assert.StartsWith("lora_unet_", k, StringComparison.Ordinal));
            Assert.Equal(file.Names.Count(k => k.EndsWith(".lora_down.weight", StringComparison.Ordinal)), file.Names.Count(k => k.EndsWith(".alpha", StringComparison.Ordinal)));
        }
        Assert.Contains("kohya-ss layout", File.ReadAllText(Path.Combine(run, "summary.md")));
        using var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        var adapter = LoraAdapter.FromFile(pipeline.Unet, path, ModelLoader.LoraKeyPrefix);
        Assert.NotEmpty(adapter.Layers);
        // The CLI trains rank 4 with alpha = rank; both come back from the kohya keys and .alpha tensors.
        Assert.All(adapter.Layers.Values, l => Assert.Equal((4, 4.0), (l.Rank, l.Alpha)));
    }

    [Fact]
    public void The_embedded_model_defaults_to_its_own_cfg_and_learning_rate_and_a_real_model_to_the_papers()
    {
        var embedded = new AlignSettings().ToPlan();
        Assert.Equal((AlignSettings.EmbeddedGuidanceScale, AlignSettings.EmbeddedLearningRate), (embedded.GuidanceScale, embedded.LearningRate));
        Assert.Equal("preference", embedded.Reward); // the embedded preference model
        var real = new AlignSettings { Model = "/models/sd15" }.ToPlan();
        Assert.Equal((5.0, 3e-5), (real.GuidanceScale, real.LearningRate)); // the paper's CFG and learning rate
        Assert.Equal("jpeg-compressibility", real.Reward); // no preference model ships for a real model
        Assert.Equal("colorfulness", new AlignSettings { Reward = "colorfulness" }.ToPlan().Reward);
        var chosen = new AlignSettings { GuidanceScale = 7.5, LearningRate = 1e-4 }.ToPlan();
        Assert.Equal((7.5, 1e-4), (chosen.GuidanceScale, chosen.LearningRate));
    }

    [Fact]
    public void The_reward_hacking_guard_defaults_to_a_quarter_of_the_budget_for_the_embedded_model_and_off_for_a_real_one()
    {
        Assert.Equal((60, 2), (new AlignSettings().ToPlan().GuardEvery, new AlignSettings().ToPlan().GuardPatience));
        Assert.Equal(25, new AlignSettings { Budget = 100 }.ToPlan().GuardEvery);
        Assert.Equal(0, new AlignSettings { GuardEvery = 0 }.ToPlan().GuardEvery);
        Assert.Equal((16, 3), (new AlignSettings { GuardEvery = 16, GuardPatience = 3 }.ToPlan().GuardEvery, new AlignSettings { GuardPatience = 3 }.ToPlan().GuardPatience));
        Assert.Equal(0, new AlignSettings { Model = "/models/sd15" }.ToPlan().GuardEvery);
        // A plan saved before the guard existed (no GuardEvery in options.json) resumes unguarded, as it was trained.
        Assert.Equal(0, new Alignment.AlignmentPlan().GuardEvery);
    }

    [Fact]
    public void A_constant_guidance_eta_reaches_the_plan_and_its_command_line_and_the_default_is_the_papers_schedule()
    {
        Assert.Null(new AlignSettings { Method = "tailorpo-g" }.ToPlan().GuidanceEta); // null: the cosine schedule in [0.1, 0.2]
        var plan = new AlignSettings { Method = "tailorpo-g", GuidanceEta = 0.5 }.ToPlan();
        Assert.Equal(0.5, plan.GuidanceEta);
        Assert.Contains("--method tailorpo-g", plan.CommandLine("/runs/x"));
        Assert.Contains("--guidance-eta 0.5", plan.CommandLine("/runs/x"));
        Assert.DoesNotContain("--guidance-eta", new AlignSettings { Method = "tailorpo-g" }.ToPlan().CommandLine("/runs/x"));
    }

    [Fact]
    public void Align_help_shows_the_defaults_the_code_uses()
    {
        var (code, output) = CliRunner.Run("align", "--help");
        Assert.Equal(ExitCodes.Success, code);
        output = System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");
        Assert.True(output.Contains("Default: 5e-4 for the embedded model, 3e-5 (the paper's) for --model", StringComparison.Ordinal), output);
        Assert.Contains("Default: 240, minutes on 2 cores", output);
        Assert.Contains("Default: 3 for the embedded model", output);
        Assert.Contains("--guard-every <IMAGES>", output);
        Assert.Contains("Default: a quarter of the budget (60 for 240) for the embedded model; off for --model", output);
        Assert.Contains("--guard-patience <K>", output);
        Assert.Contains("--guidance-eta <ETA>", output);
        Assert.Contains("Default: preference for the embedded model, jpeg-compressibility for --model", output);
        // The texts above are the constants formatted; the plan uses the same constants.
        var plan = new AlignSettings().ToPlan();
        Assert.Equal((5e-4, 240, 3.0), (plan.LearningRate, plan.Budget, plan.GuidanceScale));
    }
}
