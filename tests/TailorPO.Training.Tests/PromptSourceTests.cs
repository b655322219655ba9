using TailorPO.Training.Prompts;

namespace TailorPO.Training.Tests;

/// <summary>Prompt sources and the seeded cursor.</summary>
public sealed class PromptSourceTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"prompts-{Guid.NewGuid():N}.txt");

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void The_cursor_visits_every_prompt_once_per_epoch_in_a_seeded_order_and_restores_exactly()
    {
        var prompts = new AnimalPromptSource().Prompts;
        var a = new PromptCursor(prompts, seed: 5);
        var epoch0 = a.Next(prompts.Count);
        Assert.Equal(prompts.Order(), epoch0.Order());
        var epoch1 = a.Next(prompts.Count);
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(epoch0, new PromptCursor(prompts, seed: 5).Next(prompts.Count));
        Assert.NotEqual(epoch0, new PromptCursor(prompts, seed: 6).Next(prompts.Count));

        var b = new PromptCursor(prompts, seed: 5);
        b.Next(17);
        var (epoch, position) = (b.Epoch, b.Position);
        var expected = b.Next(40);
        var c = new PromptCursor(prompts, seed: 5);
        c.Restore(epoch, position);
        Assert.Equal(expected, c.Next(40));
    }

    [Fact]
    public void A_text_file_gives_one_prompt_per_line_without_blanks_and_comments()
    {
        File.WriteAllLines(_file, ["# animals", "a cat", "", "  a dog  ", "#a comment"]);
        Assert.Equal(["a cat", "a dog"], new TextFilePromptSource(_file).Prompts);
        File.WriteAllLines(_file, ["# only a comment", ""]);
        Assert.Throws<InvalidDataException>(() => new TextFilePromptSource(_file));
        Assert.Throws<FileNotFoundException>(() => new TextFilePromptSource(_file + ".missing"));
        Assert.Throws<ArgumentException>(() => new InMemoryPromptSource(["a", " "]));
    }
}
