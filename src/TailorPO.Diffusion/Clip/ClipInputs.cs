using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>Validation and placement of the towers' inputs (messages name the argument).</summary>
internal static class ClipInputs
{
    private static readonly ScalarType[] IntegerTypes =
        [ScalarType.Int64, ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte];

    /// <summary>Checks token ids and returns them as int64 on <paramref name="device"/> (a new tensor).</summary>
    public static Tensor TokenIds(Tensor inputIds, CLIPTextConfig config, Device device, string argument)
    {
        ArgumentNullException.ThrowIfNull(inputIds, argument);
        if (inputIds.dim() != 2)
            throw new ArgumentException($"{argument} must have shape [batch, sequence]; got [{Shape(inputIds)}].", argument);
        if (!IntegerTypes.Contains(inputIds.dtype))
            throw new ArgumentException($"{argument} must hold integer token ids (int64); got {inputIds.dtype}.", argument);
        long batch = inputIds.shape[0], length = inputIds.shape[1];
        if (batch < 1 || length < 1)
            throw new ArgumentException($"{argument} is empty: shape [{Shape(inputIds)}].", argument);
        if (length > config.MaxPositionEmbeddings)
            throw new ArgumentException(
                $"{argument} has {length} tokens, more than the {config.MaxPositionEmbeddings} positions of this text encoder; truncate the prompt.", argument);
        var ids = inputIds.to(ScalarType.Int64, device);
        long min = ids.min().item<long>(), max = ids.max().item<long>();
        if (min < 0 || max >= config.VocabSize)
        {
            ids.Dispose();
            throw new ArgumentException(
                $"{argument} holds ids in [{min}, {max}], outside the vocabulary [0, {config.VocabSize - 1}].", argument);
        }
        return ids;
    }

    /// <summary>Checks an optional [B, S] 0/1 mask and returns it on <paramref name="device"/> (a new tensor or null).</summary>
    public static Tensor? AttentionMask(Tensor? attentionMask, Tensor ids, Device device, string argument)
    {
        if (attentionMask is null) return null;
        if (!attentionMask.shape.SequenceEqual(ids.shape))
            throw new ArgumentException(
                $"{argument} must have the shape of the token ids [{Shape(ids)}]; got [{Shape(attentionMask)}].", argument);
        var mask = attentionMask.to(ScalarType.Float32, device);
        using var isBinary = mask.eq(0).logical_or(mask.eq(1));
        if (!isBinary.all().item<bool>())
        {
            mask.Dispose();
            throw new ArgumentException($"{argument} must hold only 0 (padding) and 1 (token).", argument);
        }
        return mask;
    }

    /// <summary>Checks pixel values and returns them in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public static Tensor PixelValues(Tensor pixelValues, CLIPVisionConfig config, ScalarType dtype, Device device, string argument)
    {
        ArgumentNullException.ThrowIfNull(pixelValues, argument);
        if (pixelValues.dim() != 4 || pixelValues.shape[0] < 1 || pixelValues.shape[1] != config.NumChannels
            || pixelValues.shape[2] != config.ImageSize || pixelValues.shape[3] != config.ImageSize)
            throw new ArgumentException(
                $"{argument} must have shape [batch, {config.NumChannels}, {config.ImageSize}, {config.ImageSize}] (normalised by the CLIP image processor); got [{Shape(pixelValues)}].",
                argument);
        if (!pixelValues.is_floating_point())
            throw new ArgumentException($"{argument} must be a floating-point tensor; got {pixelValues.dtype}.", argument);
        return pixelValues.to(dtype, device);
    }

    /// <summary>Checks the dtype requested for a model's weights.</summary>
    public static void WeightDType(ScalarType? dtype, string argument)
    {
        if (dtype is null or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64) return;
        throw new ArgumentException($"{argument} must be Float32, Float16, BFloat16 or Float64; got {dtype}.", argument);
    }

    public static string Shape(Tensor t) => string.Join(", ", t.shape);
}
