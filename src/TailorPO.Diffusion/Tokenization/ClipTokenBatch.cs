using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// Prompts encoded for a CLIP text encoder: <c>[bos] + ids + [eos]</c> per row, truncated to the
/// row length and right-padded with the tokenizer's pad id.
/// </summary>
public sealed class ClipTokenBatch
{
    internal ClipTokenBatch(long[,] inputIds, long[,] attentionMask, int[] tokenCounts, int maxContentTokens)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenCounts = tokenCounts;
        Truncated = tokenCounts.Select(n => n > maxContentTokens).ToArray();
    }

    /// <summary>Token ids, shape [batch, length].</summary>
    public long[,] InputIds { get; }

    /// <summary>1 from bos to eos inclusive, 0 on padding, shape [batch, length]. Told by position, not by id, since pad may equal eos.</summary>
    public long[,] AttentionMask { get; }

    /// <summary>
    /// Per prompt: the number of BPE tokens (no bos/eos) of a prompt that fits the row. For a truncated prompt
    /// encoding stops once the row is full, so this is the count reached by then (more than the row holds, at
    /// most one pre-tokenized word past it), not the whole prompt's; <see cref="ClipTokenizer.Encode"/> gives all ids.
    /// </summary>
    public IReadOnlyList<int> TokenCounts { get; }

    /// <summary>Per prompt: true when BPE tokens were cut to fit the row.</summary>
    public IReadOnlyList<bool> Truncated { get; }

    /// <summary>The number of prompts.</summary>
    public int BatchSize => InputIds.GetLength(0);

    /// <summary>The row length (the model's context length, 77 for SD).</summary>
    public int Length => InputIds.GetLength(1);

    /// <summary>The ids as an int64 tensor [batch, length] on <paramref name="device"/> (CPU when null).</summary>
    public Tensor InputIdsTensor(Device? device = null) => ToTensor(InputIds, device);

    /// <summary>The attention mask as an int64 tensor [batch, length] on <paramref name="device"/> (CPU when null).</summary>
    public Tensor AttentionMaskTensor(Device? device = null) => ToTensor(AttentionMask, device);

    private static Tensor ToTensor(long[,] values, Device? device)
    {
        var flat = new long[values.Length];
        Buffer.BlockCopy(values, 0, flat, 0, flat.Length * sizeof(long));
        var cpu = tensor(flat, [values.GetLength(0), values.GetLength(1)], ScalarType.Int64);
        if (device is null || device.type == TorchSharp.DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }
}
