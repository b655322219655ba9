using System.Text.Json;
using TailorPO.Rewards.Blip;
using Xunit.Abstractions;

namespace TailorPO.Rewards.Tests.Blip;

/// <summary>The BERT WordPiece tokenizer against transformers' slow BertTokenizer (tests/fixtures/imagereward/tokenizer_cases.json).</summary>
public class BertWordPieceTokenizerTests(ITestOutputHelper output)
{
    [Fact]
    public void Ids_masks_and_word_pieces_equal_the_reference_for_every_case()
    {
        var tokenizer = BertWordPieceTokenizer.FromFolder(Path.Combine(ImageRewardParityTests.Folder, "tokenizer"));
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ImageRewardParityTests.Folder, "tokenizer_cases.json")));
        var root = document.RootElement;
        var length = root.GetProperty("max_length").GetInt32();
        Assert.Equal(root.GetProperty("cls").GetInt32(), tokenizer.ClsTokenId);
        Assert.Equal(root.GetProperty("sep").GetInt32(), tokenizer.SepTokenId);
        Assert.Equal(root.GetProperty("pad").GetInt32(), tokenizer.PadTokenId);
        Assert.Equal(root.GetProperty("unk").GetInt32(), tokenizer.UnknownTokenId);
        var count = 0;
        foreach (var entry in root.GetProperty("cases").EnumerateArray())
        {
            var prompt = entry.GetProperty("prompt").GetString()!;
            Assert.Equal(entry.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray(), tokenizer.Tokenize(prompt).ToArray());
            var (ids, mask) = tokenizer.EncodeForModel([prompt], length);
            Assert.Equal(entry.GetProperty("input_ids").EnumerateArray().Select(v => v.GetInt64()).ToArray(), ids.data<long>().ToArray());
            Assert.Equal(entry.GetProperty("attention_mask").EnumerateArray().Select(v => v.GetInt64()).ToArray(), mask.data<long>().ToArray());
            ids.Dispose();
            mask.Dispose();
            count++;
        }
        Assert.True(count > 0);
        output.WriteLine($"{count} prompts: word pieces, ids and masks identical.");
    }
}
