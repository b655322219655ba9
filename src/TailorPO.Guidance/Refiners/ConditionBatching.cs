using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Refiners;

/// <summary>Repeats a condition for a batch made of M stacked copies of the B elements (copy-major).</summary>
internal static class ConditionBatching
{
    internal static DiffusionCondition Repeat(DiffusionCondition condition, int copies)
    {
        if (copies == 1)
            return condition;
        var prompts = new string[condition.Prompts.Count * copies];
        for (var c = 0; c < copies; c++)
            for (var j = 0; j < condition.Prompts.Count; j++)
                prompts[c * condition.Prompts.Count + j] = condition.Prompts[j];
        return condition with
        {
            Prompts = prompts,
            PromptEmbeddings = RepeatBatch(condition.PromptEmbeddings, copies),
            NegativeEmbeddings = condition.NegativeEmbeddings is null ? null : RepeatBatch(condition.NegativeEmbeddings, copies),
        };
    }

    private static Tensor RepeatBatch(Tensor tensor, int copies)
    {
        var repeats = new long[tensor.dim()];
        Array.Fill(repeats, 1L);
        repeats[0] = copies;
        return tensor.repeat(repeats);
    }
}
