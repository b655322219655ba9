using TorchSharp;
using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Lora;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests;

/// <summary>The shared building blocks: diffusers key names, shapes and the attention formula.</summary>
public class BlocksTests
{
    [Fact]
    public void ResnetBlock2D_has_diffusers_keys_with_time_projection_and_shortcut_only_when_needed()
    {
        using var withAll = new ResnetBlock2D(8, 16, tembChannels: 12, groups: 4);
        Assert.Equal(
            new[] { "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "conv_shortcut.bias", "conv_shortcut.weight",
                    "norm1.bias", "norm1.weight", "norm2.bias", "norm2.weight", "time_emb_proj.bias", "time_emb_proj.weight" },
            withAll.state_dict().Keys.Order(StringComparer.Ordinal));
        using var plain = new ResnetBlock2D(8, 8, tembChannels: null, groups: 4);
        Assert.DoesNotContain(plain.state_dict().Keys, k => k.StartsWith("conv_shortcut") || k.StartsWith("time_emb_proj"));

        using var scope = NewDisposeScope();
        var gen = new Generator(1);
        var y = withAll.call(randn(new long[] { 2, 8, 5, 6 }, generator: gen), randn(new long[] { 2, 12 }, generator: gen));
        Assert.Equal(new long[] { 2, 16, 5, 6 }, y.shape);
        Assert.Throws<ArgumentException>(() => withAll.call(randn(2, 8, 5, 6), null));
        Assert.Throws<ArgumentException>(() => plain.call(randn(2, 8, 5, 6), randn(2, 12)));
    }

    [Fact]
    public void Attention_has_diffusers_keys_and_matches_the_written_out_formula()
    {
        using var attn = new Attention(12, crossAttentionDim: 6, heads: 3, dimHead: 4);
        Assert.Equal(
            new[] { "to_k.weight", "to_out.0.bias", "to_out.0.weight", "to_q.weight", "to_v.weight" },
            attn.state_dict().Keys.Order(StringComparer.Ordinal));

        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var x = randn(new long[] { 2, 5, 12 }, generator: gen, dtype: ScalarType.Float64);
        var ctx = randn(new long[] { 2, 7, 6 }, generator: gen, dtype: ScalarType.Float64);
        attn.to(ScalarType.Float64);
        var sd = attn.state_dict();

        // Independent reference: per-head softmax(q k^T / sqrt(d)) v written with plain matmuls.
        var q = matmul(x, sd["to_q.weight"].t());
        var k = matmul(ctx, sd["to_k.weight"].t());
        var v = matmul(ctx, sd["to_v.weight"].t());
        var heads = new List<Tensor>();
        for (int h = 0; h < 3; h++)
        {
            var qs = q[.., .., TensorIndex.Slice(4 * h, 4 * h + 4)];
            var ks = k[.., .., TensorIndex.Slice(4 * h, 4 * h + 4)];
            var vs = v[.., .., TensorIndex.Slice(4 * h, 4 * h + 4)];
            var w = softmax(matmul(qs, ks.transpose(1, 2)) / Math.Sqrt(4), -1);
            heads.Add(matmul(w, vs));
        }
        var expected = matmul(cat(heads, 2), sd["to_out.0.weight"].t()) + sd["to_out.0.bias"];
        TensorAssert.Close(expected, attn.call(x, ctx), 1e-12, what: "attention");
    }

    [Fact]
    public void Attention_on_a_feature_map_equals_attention_on_its_tokens_with_residual_and_rescale()
    {
        using var attn = new Attention(8, heads: 1, dimHead: 8, bias: true, normNumGroups: 4, eps: 1e-6,
            residualConnection: true, rescaleOutputFactor: 2.0);
        Assert.Contains("group_norm.weight", attn.state_dict().Keys);
        Assert.Contains("to_q.bias", attn.state_dict().Keys);
        using var scope = NewDisposeScope();
        var map = randn(new long[] { 2, 8, 3, 4 }, generator: new Generator(5));
        var tokens = map.flatten(2).transpose(1, 2);
        var fromMap = attn.call(map, null);
        var fromTokens = attn.call(tokens, null);
        Assert.Equal(map.shape, fromMap.shape);
        TensorAssert.Close(fromTokens.transpose(1, 2).reshape(2, 8, 3, 4), fromMap, 1e-6, what: "spatial vs tokens");
    }

    [Fact]
    public void Downsample_and_upsample_have_conv_keys_and_the_expected_shapes()
    {
        using var down = new Downsample2D(4, outChannels: 6, padding: 1);
        using var downVae = new Downsample2D(4, padding: 0);
        using var up = new Upsample2D(4, outChannels: 6);
        Assert.Equal(new[] { "conv.bias", "conv.weight" }, down.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "conv.bias", "conv.weight" }, up.state_dict().Keys.Order(StringComparer.Ordinal));
        using var scope = NewDisposeScope();
        var x = randn(1, 4, 7, 8);
        Assert.Equal(new long[] { 1, 6, 4, 4 }, down.call(x).shape);
        // Conv output size floor((H + pad - 3) / 2) + 1: padding 0 pads right/bottom only, so 7x8 -> 3x4.
        Assert.Equal(new long[] { 1, 4, 3, 4 }, downVae.call(x).shape);
        Assert.Equal(new long[] { 1, 6, 14, 16 }, up.call(x).shape);
        Assert.Equal(new long[] { 1, 6, 15, 16 }, up.call(x, new long[] { 15, 16 }).shape);
    }

    [Fact]
    public void LoraLinear_keeps_base_keys_and_a_fresh_adapter_changes_nothing()
    {
        using var layer = new LoraLinear(6, 5);
        Assert.Equal(new[] { "bias", "weight" }, layer.state_dict().Keys.Order(StringComparer.Ordinal));
        using var scope = NewDisposeScope();
        var x = randn(3, 6);
        var before = layer.call(x);
        layer.AttachAdapter(2, 4.0, new Generator(9));
        Assert.Equal(new[] { "bias", "lora_A.weight", "lora_B.weight", "weight" }, layer.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.0, TensorAssert.MaxAbsDifference(before, layer.call(x)));
        var bound = 1 / Math.Sqrt(6);
        Assert.True(layer.LoraA!.abs().max().item<float>() <= bound);
        Assert.True(layer.LoraA!.abs().max().item<float>() > 0);

        // After a dtype change the fields still point at the registered parameters.
        layer.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, layer.Weight.dtype);
        Assert.Same(layer.Weight, layer.named_parameters().First(p => p.name == "weight").parameter);
        layer.RemoveAdapter();
        Assert.Equal(new[] { "bias", "weight" }, layer.state_dict().Keys.Order(StringComparer.Ordinal));
    }
}
