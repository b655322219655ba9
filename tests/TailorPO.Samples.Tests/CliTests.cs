using SkiaSharp;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Cli;
using TailorPO.Shapes;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

public class CliTests
{
    [Fact]
    public void Help_lists_the_commands_and_exits_zero()
    {
        var (code, output) = CliRunner.Run("--help");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("pretrain", output);
        Assert.Contains("generate", output);
        Assert.Contains("evaluate", output);
    }

    [Fact]
    public void Doctor_shows_the_cpu_libtorch_the_guard_and_every_self_check()
    {
        var (code, output) = CliRunner.Run("doctor", "--threads", "1");
        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("CPU:", output);
        Assert.Contains(TailorPO.Core.Numerics.CpuDescription.Current.ModelName, output);
        Assert.Contains("oneDNN", output);
        Assert.Contains("Guard:", output);
        foreach (var op in new[] { "conv2d", "group_norm", "linear", "scaled_dot_product_attention", "BFloat16" })
            Assert.Contains(op, output);
        Assert.Contains("Every op on the path in use matches float64.", output);
    }

    [Fact]
    public void A_convolution_path_that_is_not_one_is_bad_input_naming_the_choices()
    {
        var (code, output) = CliRunner.Run("doctor", "--convolution-path", "fastest");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--convolution-path must be auto, onednn or reference; got 'fastest'", output);
    }

    [Theory]
    [InlineData("doctor")]
    [InlineData("align")]
    [InlineData("generate")]
    [InlineData("evaluate")]
    [InlineData("pretrain")]
    public void Every_command_prints_its_help_with_every_option(string command)
    {
        // Option descriptions are Spectre markup: an unescaped bracket such as "(0, 1]" breaks the whole help page.
        var (code, output) = CliRunner.Run(command, "--help");
        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("--seed", output);
        Assert.DoesNotContain("Failed", output);
    }

    [Fact]
    public void An_unknown_command_or_option_is_bad_input()
    {
        Assert.Equal(ExitCodes.BadInput, CliRunner.Run("fly").ExitCode);
        var (code, output) = CliRunner.Run("generate", "a red circle", "--colour", "red");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("colour", output);
    }

    [Fact]
    public void A_value_that_does_not_parse_is_bad_input_naming_the_option()
    {
        var (code, output) = CliRunner.Run("generate", "a red circle", "--steps", "many");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("many", output);
    }

    [Theory]
    [InlineData("--budget", "99999999999")]
    [InlineData("--budget", "abc")]
    [InlineData("--cfg", "inf")]
    public void A_value_that_does_not_convert_names_its_option(string option, string value)
    {
        var (code, output) = CliRunner.Run("align", option, value);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains($"{option} cannot take '{value}'", output);
        Assert.DoesNotContain("Nullable", output);
    }

    [Fact]
    public void Generate_refuses_an_output_folder_it_cannot_write_before_generating()
    {
        // /proc takes no new files, even for root (who ignores a read-only mode bit).
        var (code, output) = CliRunner.Run("generate", "a red circle", "-o", "/proc/tailorpo-out/grid.png");
        Assert.Equal(ExitCodes.BadInput, code);
        output = System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");
        Assert.Contains("--output '/proc/tailorpo-out/grid.png': the folder '/proc' cannot be written", output);
    }

    [Fact]
    public void A_prompt_longer_than_the_text_encoder_reads_is_warned_about_once_with_the_kept_length()
    {
        using var folder = new TemporaryFolder();
        var prompt = string.Concat(Enumerable.Repeat("a red circle on a plain white background, ", 2400))[..100_000];
        var (code, output) = CliRunner.Run("generate", prompt, "a blue square", "--steps", "2", "-n", "1", "--threads", "1", "-o", folder.Combine("grid.png"));
        Assert.True(code == ExitCodes.Success, output);
        output = System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");
        var tokenizer = TailorPO.Diffusion.Tokenization.ClipTokenizer.FromFolder(Path.Combine(TailorPO.Shapes.EmbeddedModel.Folder, "tokenizer"));
        var kept = tokenizer.EncodeForModel(["a"]).Length - 2;
        Assert.Contains($"the prompt '{prompt[..60]}...' (100000 characters, {tokenizer.Encode(prompt).Length} tokens) is longer than the text encoder reads: it keeps its first {kept} tokens.", output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "Warning:"));
    }

    [Fact]
    public void Generate_without_prompts_says_how_to_give_them()
    {
        var (code, output) = CliRunner.Run("generate");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("No prompts", output);
    }

    [Fact]
    public void Every_bad_generate_setting_is_reported_in_one_message_before_any_work()
    {
        using var folder = new TemporaryFolder();
        var missingModel = folder.Combine("no-model");
        var missingLora = folder.Combine("no-lora.safetensors");
        var missingPrompts = folder.Combine("no-prompts.txt");
        var (code, output) = CliRunner.Run("generate", "a red circle", "--model", missingModel, "--lora", missingLora, "--prompts", missingPrompts,
            "--steps", "0", "--cfg", "-1", "--eta", "2", "--threads", "0", "--device", "tpu", "-n", "0", "-o", folder.Combine("grid.jpg"));

        Assert.Equal(ExitCodes.BadInput, code);
        foreach (var expected in new[] { "no-model", "no-lora.safetensors", "no-prompts.txt", "--steps", "--cfg", "--eta", "--threads", "--device 'tpu'", "--images", ".png" })
            Assert.Contains(expected, output);
        Assert.False(File.Exists(folder.Combine("grid.jpg")));
    }

    [Fact]
    public void Cuda_without_a_cuda_backend_is_refused_before_any_work()
    {
        if (cuda.is_available()) return; // only meaningful on the CPU backend the tests use
        var (code, output) = CliRunner.Run("generate", "a red circle", "--device", "cuda");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("CUDA is not available", output);
    }

    [Fact]
    public void Bad_evaluate_and_pretrain_settings_are_reported()
    {
        using var folder = new TemporaryFolder();
        var (code, output) = CliRunner.Run("evaluate", "--split", "test", "--samples", "0", "--batch", "0");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--split", output);
        Assert.Contains("--samples", output);
        Assert.Contains("--batch", output);

        (code, output) = CliRunner.Run("pretrain", "--steps", "0", "--lr", "5", "--caption-dropout", "1.5", "--tokenizer", folder.Combine("no-tokenizer"),
            "--output", folder.Path + "/m", "--resume");
        Assert.Equal(ExitCodes.BadInput, code);
        foreach (var expected in new[] { "--steps", "--lr", "--caption-dropout", "no-tokenizer", "--resume" })
            Assert.Contains(expected, output);
        Assert.False(Directory.Exists(folder.Combine("m")));
    }

    [Fact]
    public void Generate_writes_a_png_grid_from_the_embedded_model()
    {
        using var folder = new TemporaryFolder();
        var grid = folder.Combine("out", "grid.png");
        var (code, output) = CliRunner.Run("generate", "a red circle on a plain white background", "a blue square on a striped yellow background",
            "--steps", "2", "-n", "2", "--scale", "2", "-o", grid, "--threads", "1");

        Assert.True(code == ExitCodes.Success, output);
        using var bitmap = SKBitmap.Decode(grid);
        Assert.NotNull(bitmap);
        Assert.True(bitmap.Width >= 2 * 64 && bitmap.Height >= 2 * 64, $"{bitmap.Width} x {bitmap.Height}");
    }

    [Fact]
    public void A_lora_file_made_for_another_model_is_refused_with_a_clear_message()
    {
        var foreign = FixtureRoot.Combine("unet", "lora", "pytorch_lora_weights.safetensors");
        using var folder = new TemporaryFolder();
        var (code, output) = CliRunner.Run("generate", "a red circle", "--lora", foreign, "--steps", "1", "-n", "1", "-o", folder.Combine("grid.png"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not fit", output);
        Assert.False(File.Exists(folder.Combine("grid.png")));
    }

    [Fact]
    public void A_lora_file_saved_for_the_embedded_model_is_applied()
    {
        using var folder = new TemporaryFolder();
        var loraPath = folder.Combine("adapter.safetensors");
        using (var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder))
        {
            var adapter = LoraAdapter.Attach(pipeline.Unet, new LoraConfig { Rank = 2 }, new Generator(5), ModelLoader.LoraKeyPrefix);
            using (no_grad())
                foreach (var (_, parameter) in adapter.TrainableParameters) parameter.add_(0.05);
            adapter.Save(loraPath);
        }

        var plain = folder.Combine("plain.png");
        var adapted = folder.Combine("adapted.png");
        Assert.Equal(ExitCodes.Success, CliRunner.Run("generate", "a red circle on a plain white background", "--steps", "2", "-n", "1", "-o", plain, "--threads", "1").ExitCode);
        var (code, output) = CliRunner.Run("generate", "a red circle on a plain white background", "--steps", "2", "-n", "1", "-o", adapted, "--lora", loraPath, "--threads", "1");
        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("LoRA", output);
        Assert.NotEqual(File.ReadAllBytes(plain), File.ReadAllBytes(adapted));
    }

    [Fact]
    public void Pretrain_writes_a_loadable_folder_and_resumes_from_its_checkpoint()
    {
        using var folder = new TemporaryFolder();
        var model = folder.Combine("model");
        var (code, output) = CliRunner.Run("pretrain", "--steps", "2", "--batch", "2", "--checkpoint-every", "1", "--output", model, "--threads", "1", "--seed", "3");
        Assert.True(code == ExitCodes.Success, output);
        using (var pipeline = StableDiffusionPipeline.FromPretrained(model))
        {
            Assert.Null(pipeline.Vae);
            Assert.Equal(3, pipeline.Unet.Config.InChannels);
        }
        Assert.Contains("\"Step\":2", File.ReadAllText(Path.Combine(model + ".state", "progress.json")));

        (code, output) = CliRunner.Run("pretrain", "--steps", "3", "--batch", "2", "--output", model, "--threads", "1", "--seed", "3", "--resume");
        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("\"Step\":3", File.ReadAllText(Path.Combine(model + ".state", "progress.json")));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(model + ".state", "loss.csv")).Length); // header + steps 1, 2, 3

        (code, output) = CliRunner.Run("pretrain", "--steps", "4", "--batch", "4", "--output", model, "--threads", "1", "--seed", "3", "--resume");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--batch 2", output);
    }
}
