using TailorPO.Benchmarks;
using TailorPO.Core.Numerics;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.UNet;

/// <summary>
/// The benchmarks measure the UNet against a bare nn.functional replay of its graph (BareUNet); the
/// ratio only means something while the replay computes exactly what the library computes.
/// </summary>
public sealed class BareUNetReplayTests
{
    /// <summary>
    /// With the library's own convolution (the CPU numerics guard's path) the replay is the library's graph bit for bit on
    /// every CPU. With libtorch's bare convolution (the benchmark's floor where oneDNN is right) it is bit-identical where
    /// the guard keeps libtorch's kernel and agrees to the benchmark setup's tolerance under TAILORPO_CONVOLUTION_PATH=reference;
    /// on a CPU whose oneDNN is wrong (AMD Zen 5) libtorch's convolution is not the library's, so that half is not asked.
    /// </summary>
    [Fact]
    public void Bare_replay_of_the_fixture_unet_with_lora_gives_bit_identical_outputs_and_adapter_gradients()
    {
        using var unet = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));
        LoraAdapter.Attach(unet, new LoraConfig { Rank = 4 }, new Generator(0));
        var generator = new Generator(1);
        using (no_grad())
        {
            // Non-zero B, so that the adapters change the output and both A and B get gradients.
            foreach (var (_, attention) in unet.AttentionModules())
                foreach (var (_, layer) in attention.Projections())
                    layer.LoraB!.copy_(randn(layer.LoraB.shape, generator: generator) * 0.01);
        }
        unet.train();
        var scale = unet.AttentionModules().First().Attention.Projections().First().Layer.EffectiveScale;
        var libraryConvolution = new BareUNet(unet, scale, TorchNumerics.Conv2d);
        var bareConvolution = new BareUNet(unet, scale);
        var adapters = unet.parameters().Where(p => p.requires_grad).ToList();
        Assert.NotEmpty(adapters);

        using var scope = NewDisposeScope();
        var size = unet.Config.SampleSize ?? 32;
        var latents = randn([2, unet.Config.InChannels, size, size], generator: generator);
        var timesteps = tensor(new long[] { 10, 900 });
        var text = randn([2, 7, unet.Config.CrossAttentionDim[0]], generator: generator);

        (Tensor Output, Tensor[] Gradients) Run(Func<Tensor> forward)
        {
            unet.zero_grad();
            var output = forward();
            output.square().mean().backward();
            return (output.detach(), adapters.Select(p => p.grad!.clone()).ToArray());
        }

        var ours = Run(() => unet.call(latents, timesteps, text));
        AssertAgree(ours, Run(() => libraryConvolution.Forward(latents, timesteps, text)), tolerance: 0, "replay on the library's convolution");
        // libtorch's own convolution is the library's only where oneDNN is right on this CPU (on AMD Zen 5 it is not, and the
        // floor benchmark replays on the library's convolution instead). Forced im2col (TAILORPO_CONVOLUTION_PATH=reference)
        // differs from it by rounding: the tolerance of UNetFloorBenchmarks' setup check.
        var decision = TorchNumerics.EnsureGuarded();
        if (decision.OneDnnRight != false)
            AssertAgree(ours, Run(() => bareConvolution.Forward(latents, timesteps, text)), tolerance: decision.RoutesConvolutions ? 1e-4 : 0,
                "replay on libtorch's convolution");
        Assert.Contains(ours.Gradients, g => g.abs().max().item<float>() > 0);
    }

    private static void AssertAgree((Tensor Output, Tensor[] Gradients) ours, (Tensor Output, Tensor[] Gradients) replay, double tolerance, string what)
    {
        var output = TensorAssert.MaxAbsDifference(ours.Output, replay.Output);
        Assert.True(output <= tolerance, $"{what}: outputs differ by {output:E2} (tolerance {tolerance:E0})");
        Assert.All(ours.Gradients.Zip(replay.Gradients), g =>
        {
            var difference = TensorAssert.MaxAbsDifference(g.First, g.Second);
            Assert.True(difference <= tolerance, $"{what}: adapter gradients differ by {difference:E2} (tolerance {tolerance:E0})");
        });
    }
}
