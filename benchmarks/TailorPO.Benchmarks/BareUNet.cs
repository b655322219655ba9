using TailorPO.Diffusion.UNet;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// The floor the library's UNet is measured against: the same forward graph as
/// <see cref="UNet2DConditionModel"/> (with LoRA on the attention projections), replayed with bare
/// <c>nn.functional</c> calls on the very same parameter tensors - no modules of ours, no argument
/// checks, no dispose scopes. Gradients land on the model's own (LoRA) parameters, so one optimizer
/// step would be identical. Only what SD v1.x-style configs use is replayed (conv projections,
/// default time-embedding norm, SiLU, GEGLU, no upcast, latents divisible by the down-sampling);
/// anything else throws.
/// </summary>
/// <remarks>
/// Kept op for op in step with the library (same operations, same order), so outputs and gradients
/// are bit-identical; <c>BareUNetReplayTests</c> (Diffusion tests, linked source) and the
/// benchmark's setup check it. Dropout with p = 0, which the library calls and libtorch returns
/// unchanged, is left out.
/// </remarks>
public sealed class BareUNet
{
    private readonly Dictionary<string, Tensor> _p;
    private readonly UNet2DConditionConfig _c;
    private readonly double _loraScale;
    private readonly Func<Tensor, Tensor, Tensor?, long, long, Tensor> _convolution;

    /// <summary>Reads the parameters of <paramref name="unet"/> (not copied: the same tensors).</summary>
    /// <param name="unet">The model to replay.</param>
    /// <param name="loraScale">The adapters' effective scale (alpha / rank * scale); ignored without adapters.</param>
    /// <param name="convolution">
    /// The 2-D convolution (input, weight, bias, stride, padding); null: libtorch's own <c>nn.functional.conv2d</c>, the
    /// benchmark's floor. The library convolves through the CPU numerics guard (<c>TorchNumerics.Conv2d</c>), which on a
    /// CPU whose oneDNN is wrong routes some shapes through im2col; passing that function replays the library bit for bit
    /// there too.
    /// </param>
    public BareUNet(UNet2DConditionModel unet, double loraScale = 1.0, Func<Tensor, Tensor, Tensor?, long, long, Tensor>? convolution = null)
    {
        ArgumentNullException.ThrowIfNull(unet);
        _c = unet.Config;
        if (_c.UseLinearProjection || _c.UpcastAttention || _c.ResnetTimeScaleShift != "default" || _c.ActFn != "silu" ||
            _c.TimeEmbeddingActFn is not null || _c.TimestepPostAct is not null || _c.CenterInputSample || _c.ResnetSkipTimeAct ||
            _c.MidBlockType != "UNetMidBlock2DCrossAttn" || _c.TransformerLayersPerBlock.Any(l => l != 1))
            throw new NotSupportedException("the bare replay covers SD v1.x-style UNet configs only.");
        _p = unet.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        _loraScale = loraScale;
        _convolution = convolution ?? ((x, w, b, stride, padding) => nn.functional.conv2d(x, w, b, [stride, stride], [padding, padding]));
    }

    /// <summary>eps = UNet(sample, timesteps, text) for [B] timesteps.</summary>
    public Tensor Forward(Tensor sample, Tensor timesteps, Tensor text)
    {
        int n = _c.BlockOutChannels.Count;
        if (sample.shape[2] % (1 << (n - 1)) != 0 || sample.shape[3] % (1 << (n - 1)) != 0)
            throw new NotSupportedException("the bare replay needs latents divisible by the down-sampling.");
        using var scope = NewDisposeScope();
        long batch = sample.shape[0];

        var emb = TimeEmbedding(timesteps.to(sample.device).expand(batch), sample.dtype);
        var x = Conv("conv_in", sample, 1, (_c.ConvInKernel - 1) / 2);
        var skips = new List<Tensor> { x };
        for (int i = 0; i < n; i++)
        {
            var prefix = $"down_blocks.{i}";
            bool attention = _c.DownBlockTypes[i] == "CrossAttnDownBlock2D";
            int heads = UNet2DConditionConfig.PerBlock(_c.AttentionHeadDim, i);
            for (int j = 0; j < UNet2DConditionConfig.PerBlock(_c.LayersPerBlock, i); j++)
            {
                x = Resnet($"{prefix}.resnets.{j}", x, emb, _c.ResnetOutScaleFactor);
                if (attention) x = Transformer($"{prefix}.attentions.{j}", x, text, heads);
                skips.Add(x);
            }
            if (_p.ContainsKey($"{prefix}.downsamplers.0.conv.weight"))
            {
                if (_c.DownsamplePadding == 0) x = nn.functional.pad(x, [0, 1, 0, 1], PaddingModes.Constant, 0);
                x = Conv($"{prefix}.downsamplers.0.conv", x, 2, _c.DownsamplePadding);
                skips.Add(x);
            }
        }

        int midHeads = UNet2DConditionConfig.PerBlock(_c.AttentionHeadDim, n - 1);
        x = Resnet("mid_block.resnets.0", x, emb, _c.MidBlockScaleFactor);
        x = Transformer("mid_block.attentions.0", x, text, midHeads);
        x = Resnet("mid_block.resnets.1", x, emb, _c.MidBlockScaleFactor);

        for (int i = 0; i < n; i++)
        {
            int reversed = n - 1 - i;
            var prefix = $"up_blocks.{i}";
            bool attention = _c.UpBlockTypes[i] == "CrossAttnUpBlock2D";
            int heads = UNet2DConditionConfig.PerBlock(_c.AttentionHeadDim, reversed);
            int resnets = UNet2DConditionConfig.PerBlock(_c.LayersPerBlock, reversed) + 1;
            for (int j = 0; j < resnets; j++)
            {
                var skip = skips[^1];
                skips.RemoveAt(skips.Count - 1);
                x = cat([x, skip], 1);
                x = Resnet($"{prefix}.resnets.{j}", x, emb, _c.ResnetOutScaleFactor);
                if (attention) x = Transformer($"{prefix}.attentions.{j}", x, text, heads);
            }
            if (_p.ContainsKey($"{prefix}.upsamplers.0.conv.weight"))
            {
                x = nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
                x = Conv($"{prefix}.upsamplers.0.conv", x, 1, 1);
            }
        }

        x = nn.functional.silu(nn.functional.group_norm(x, _c.NormNumGroups, _p["conv_norm_out.weight"], _p["conv_norm_out.bias"], _c.NormEps));
        x = Conv("conv_out", x, 1, (_c.ConvOutKernel - 1) / 2);
        return x.MoveToOuterDisposeScope();
    }

    private Tensor TimeEmbedding(Tensor steps, ScalarType dtype)
    {
        long half = _c.BlockOutChannels[0] / 2;
        var exponent = arange(0, half, dtype: ScalarType.Float32, device: steps.device) * (float)(-Math.Log(10000));
        exponent = exponent / (float)(half - _c.FreqShift);
        var arguments = steps.to(ScalarType.Float32).unsqueeze(1) * exponent.exp().unsqueeze(0);
        var encoding = (_c.FlipSinToCos ? cat([arguments.cos(), arguments.sin()], 1) : cat([arguments.sin(), arguments.cos()], 1)).to(dtype);
        var hidden = nn.functional.silu(Linear("time_embedding.linear_1", encoding));
        return Linear("time_embedding.linear_2", hidden);
    }

    private Tensor Resnet(string prefix, Tensor input, Tensor emb, double outputScale)
    {
        var h = nn.functional.silu(GroupNorm($"{prefix}.norm1", input, _c.NormEps));
        h = Conv($"{prefix}.conv1", h, 1, 1);
        h = h + Linear($"{prefix}.time_emb_proj", nn.functional.silu(emb))[.., .., TensorIndex.None, TensorIndex.None];
        h = nn.functional.silu(GroupNorm($"{prefix}.norm2", h, _c.NormEps));
        h = Conv($"{prefix}.conv2", h, 1, 1);
        var shortcut = _p.ContainsKey($"{prefix}.conv_shortcut.weight") ? Conv($"{prefix}.conv_shortcut", input, 1, 0) : input;
        var output = shortcut + h;
        return outputScale != 1.0 ? output / outputScale : output;
    }

    private Tensor Transformer(string prefix, Tensor input, Tensor text, int heads)
    {
        long batch = input.shape[0], height = input.shape[2], width = input.shape[3];
        var x = GroupNorm($"{prefix}.norm", input, 1e-6);
        x = Conv($"{prefix}.proj_in", x, 1, 0);
        long inner = x.shape[1];
        x = x.permute(0, 2, 3, 1).reshape(batch, height * width, inner);

        var block = $"{prefix}.transformer_blocks.0";
        x = Attention($"{block}.attn1", LayerNorm($"{block}.norm1", x), null, heads) + x;
        x = Attention($"{block}.attn2", LayerNorm($"{block}.norm2", x), text, heads) + x;
        var projected = Linear($"{block}.ff.net.0.proj", LayerNorm($"{block}.norm3", x)).chunk(2, dim: -1);
        x = Linear($"{block}.ff.net.2", projected[0] * nn.functional.gelu(projected[1])) + x;

        x = x.reshape(batch, height, width, inner).permute(0, 3, 1, 2).contiguous();
        return Conv($"{prefix}.proj_out", x, 1, 0) + input;
    }

    private Tensor Attention(string prefix, Tensor tokens, Tensor? context, int heads)
    {
        long batch = tokens.shape[0];
        var source = context ?? tokens;
        var q = Linear($"{prefix}.to_q", tokens);
        long inner = q.shape[2], dimHead = inner / heads;
        Tensor Split(Tensor t) => t.view(t.shape[0], t.shape[1], heads, dimHead).transpose(1, 2);
        var attended = nn.functional.scaled_dot_product_attention(Split(q), Split(Linear($"{prefix}.to_k", source)), Split(Linear($"{prefix}.to_v", source)));
        return Linear($"{prefix}.to_out.0", attended.transpose(1, 2).reshape(batch, -1, inner));
    }

    /// <summary>x W^T + b, plus the LoRA update (x A^T) B^T * scale when the layer has an adapter.</summary>
    private Tensor Linear(string prefix, Tensor x)
    {
        var output = nn.functional.linear(x, _p[$"{prefix}.weight"], _p.GetValueOrDefault($"{prefix}.bias"));
        if (!_p.TryGetValue($"{prefix}.lora_A.weight", out var a)) return output;
        var update = nn.functional.linear(nn.functional.linear(x, a), _p[$"{prefix}.lora_B.weight"]) * _loraScale;
        return output + update;
    }

    private Tensor Conv(string prefix, Tensor x, long stride, long padding) =>
        _convolution(x, _p[$"{prefix}.weight"], _p.GetValueOrDefault($"{prefix}.bias"), stride, padding);

    private Tensor GroupNorm(string prefix, Tensor x, double eps) =>
        nn.functional.group_norm(x, _c.NormNumGroups, _p[$"{prefix}.weight"], _p[$"{prefix}.bias"], eps);

    private Tensor LayerNorm(string prefix, Tensor x) =>
        nn.functional.layer_norm(x, [x.shape[^1]], _p[$"{prefix}.weight"], _p[$"{prefix}.bias"], 1e-5);
}
