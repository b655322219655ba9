using Spectre.Console;

namespace TailorPO.Reproduction.Tests;

/// <summary>The harness's own command line: --help, and a bad argument answered with the usage before any work.</summary>
public class ReproductionProgramTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_every_option_the_parser_accepts_and_succeeds(string help)
    {
        var (code, text) = await RunAsync(help);
        Assert.Equal(ReproductionProgram.Success, code);
        foreach (var option in new[] { "--quick", "-o, --output", "--work", "--threads", "--reverse", "--help" }) Assert.Contains(option, text, StringComparison.Ordinal);
        // Every option the text names is one the parser takes.
        var parsed = ReproductionProgram.Parse(["--quick", "-o", "/tmp/docs", "--work", "/tmp/work", "--threads", "1", "--reverse"]);
        Assert.Equal((true, "/tmp/docs", "/tmp/work", 1, true), (parsed.Quick, parsed.OutputFolder, parsed.WorkFolder, parsed.Threads, parsed.Reverse));
        Assert.False(ReproductionProgram.Parse(["--quick"]).Reverse);
    }

    [Fact]
    public async Task A_bad_argument_is_named_with_the_usage_and_exits_with_the_bad_input_code()
    {
        var (code, text) = await RunAsync("--quick", "--frobnicate");
        Assert.Equal(ReproductionProgram.BadInput, code);
        Assert.Contains("Unknown argument '--frobnicate'.", text, StringComparison.Ordinal);
        Assert.Contains("Usage: tailorpo-reproduction", text, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Text)> RunAsync(params string[] args)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        var code = await ReproductionProgram.RunAsync(args, console);
        return (code, writer.ToString());
    }
}
