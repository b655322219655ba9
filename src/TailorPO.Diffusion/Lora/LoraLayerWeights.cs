using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>One adapted layer's weights as stored in a file.</summary>
/// <param name="A">lora_A / lora_down, [rank, in].</param>
/// <param name="B">lora_B / lora_up, [out, rank].</param>
/// <param name="Alpha">The layer's alpha (scaling alpha / rank).</param>
public sealed record LoraLayerWeights(Tensor A, Tensor B, double Alpha)
{
    /// <summary>The rank (rows of A).</summary>
    public int Rank => (int)A.shape[0];
}
