using TailorPO.Benchmarks;
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
        var bare = new BareUNet(unet, unet.AttentionModules().First().Attention.Projections().First().Layer.EffectiveScale);
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
        var replay = Run(() => bare.Forward(latents, timesteps, text));
        Assert.True(ours.Output.eq(replay.Output).all().item<bool>(), $"outputs differ by {TensorAssert.MaxAbsDifference(ours.Output, replay.Output):E2}");
        Assert.All(ours.Gradients.Zip(replay.Gradients), g => Assert.True(g.First.eq(g.Second).all().item<bool>(),
            $"adapter gradients differ by {TensorAssert.MaxAbsDifference(g.First, g.Second):E2}"));
        Assert.Contains(ours.Gradients, g => g.abs().max().item<float>() > 0);
    }
}
