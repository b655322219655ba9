using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Tests.UNet;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Lora;

/// <summary>Only adapter parameters train; gradients reach nothing else; checkpointing changes no gradient.</summary>
public class LoraTrainingTests(UNetFixture fixture) : IClassFixture<UNetFixture>
{
    private static string LoraPath => FixtureRoot.Combine("unet", "lora", "pytorch_lora_weights.safetensors");

    private Dictionary<string, Tensor> Gradients(UNet2DConditionModel model, string caseName)
    {
        model.train();
        model.zero_grad();
        using (var scope = NewDisposeScope())
        {
            var eps = model.call(fixture.Cases.Get(caseName, "sample"), fixture.Cases.Get(caseName, "timestep"),
                fixture.Cases.Get(caseName, "encoder_hidden_states"));
            eps.square().mean().backward();
        }
        return model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Fact]
    public void Only_adapter_parameters_require_grad_and_a_backward_pass_reaches_only_them()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        var adapter = LoraAdapter.FromFile(model, LoraPath);
        var trainable = adapter.TrainableParameters.Select(p => p.Name).ToHashSet();
        using (var file = TailorPO.Core.Safetensors.SafetensorsFile.Open(LoraPath))
            Assert.Equal(file.Names.Count, trainable.Count);
        foreach (var (name, parameter) in model.named_parameters())
            Assert.Equal(trainable.Contains(name), parameter.requires_grad);

        using var scope = NewDisposeScope();
        var grads = Gradients(model, fixture.CaseNames[0]);
        Assert.Equal(trainable.Order(), grads.Keys.Order());
        Assert.All(grads, g => Assert.True(g.Value.abs().max().item<float>() > 0, $"{g.Key} got a zero gradient"));
    }

    [Fact]
    public void Fresh_adapter_changes_no_output_and_has_zero_B()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        var adapter = LoraAdapter.Attach(model, new LoraConfig(), new Generator(5));
        var attentionModules = model.AttentionModules().Count();
        Assert.Equal(attentionModules * 4, adapter.Layers.Count);
        Assert.All(adapter.Layers.Values, l => Assert.Equal(0f, l.LoraB!.abs().max().item<float>()));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var caseName = fixture.CaseNames[0];
        var expected = fixture.Cases.Get(caseName, "expected");
        var actual = model.call(fixture.Cases.Get(caseName, "sample"), fixture.Cases.Get(caseName, "timestep"), fixture.Cases.Get(caseName, "encoder_hidden_states"));
        TensorAssert.Close(expected, actual, UNetFixture.Tolerance(expected));
    }

    [Fact]
    public void Target_selection_adapts_only_the_named_projections()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        var adapter = LoraAdapter.Attach(model, new LoraConfig { TargetModules = ["attn2.to_k", "attn2.to_v"] }, new Generator(5));
        Assert.Equal(2 * model.AttentionModules().Count(a => a.Path.EndsWith("attn2")), adapter.Layers.Count);
        Assert.All(adapter.Layers.Keys, k => Assert.Matches(@"\.attn2\.to_[kv]$", k));
        Assert.Throws<ArgumentException>(() => LoraAdapter.Attach(model, new LoraConfig { TargetModules = ["to_k"] }, new Generator(5)));
        Assert.Throws<ArgumentException>(() => LoraAdapter.Attach(model, new LoraConfig { TargetModules = ["nothing_here"] }, new Generator(5)));
    }

    [Fact]
    public void Float32_adapter_gradients_agree_with_float64_and_with_finite_differences()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        LoraAdapter.FromFile(model, LoraPath);
        var caseName = fixture.CaseNames[^1];
        using var scope = NewDisposeScope();
        var single = Gradients(model, caseName);
        model.to(ScalarType.Float64);
        Tensor Loss()
        {
            using var inner = NewDisposeScope();
            return model.call(fixture.Cases.Get(caseName, "sample").to(ScalarType.Float64), fixture.Cases.Get(caseName, "timestep"),
                fixture.Cases.Get(caseName, "encoder_hidden_states").to(ScalarType.Float64)).square().mean().MoveToOuterDisposeScope();
        }
        model.zero_grad();
        Loss().backward();
        var parameters = model.named_parameters().Where(p => p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in parameters)
        {
            var reference = parameter.grad!;
            TensorAssert.Close(reference, single[name], 1e-4 * reference.abs().max().item<double>(), what: name);
        }

        // The float64 gradient itself against central differences, on two entries.
        using var noGrad = no_grad();
        foreach (var name in new[] { parameters.Keys.First(), parameters.Keys.Last() })
        {
            var flat = parameters[name].view(-1);
            double original = flat[0].item<double>(), h = 1e-6;
            flat[0] = tensor(original + h);
            var plus = Loss().item<double>();
            flat[0] = tensor(original - h);
            var minus = Loss().item<double>();
            flat[0] = tensor(original);
            var numeric = (plus - minus) / (2 * h);
            var analytic = parameters[name].grad!.view(-1)[0].item<double>();
            Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Max(1e-3, Math.Abs(analytic)) + 1e-9,
                $"{name}[0]: finite difference {numeric:E6} vs autograd {analytic:E6}");
        }
    }

    [Fact]
    public void Gradient_checkpointing_gives_the_same_gradients()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        LoraAdapter.FromFile(model, LoraPath);
        using var scope = NewDisposeScope();
        var caseName = fixture.CaseNames[^1];
        var plain = Gradients(model, caseName);
        model.GradientCheckpointing = true;
        var checkpointed = Gradients(model, caseName);
        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        foreach (var (name, grad) in plain)
            TensorAssert.Close(grad, checkpointed[name], 1e-6, 1e-4, what: name);
    }

    [Fact]
    public void Gradient_with_respect_to_the_latents_through_a_checkpointed_UNet_writes_no_parameter_gradient()
    {
        // TailorPO-G takes autograd.grad(objective, [x]); it must not leak into the LoRA gradients.
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        LoraAdapter.FromFile(model, LoraPath);
        model.train();
        model.zero_grad();
        model.GradientCheckpointing = true;
        using var scope = NewDisposeScope();
        var caseName = fixture.CaseNames[0];
        var x = fixture.Cases.Get(caseName, "sample").clone().requires_grad_(true);
        var eps = model.call(x, fixture.Cases.Get(caseName, "timestep"), fixture.Cases.Get(caseName, "encoder_hidden_states"));
        var gradient = autograd.grad([eps.square().sum()], [x])[0];
        Assert.True(gradient.abs().sum().item<float>() > 0, "the latent gradient is zero");
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is null, $"{p.name} received a gradient"));

        // The same latent gradient as without checkpointing.
        model.GradientCheckpointing = false;
        var x2 = fixture.Cases.Get(caseName, "sample").clone().requires_grad_(true);
        var eps2 = model.call(x2, fixture.Cases.Get(caseName, "timestep"), fixture.Cases.Get(caseName, "encoder_hidden_states"));
        var plain = autograd.grad([eps2.square().sum()], [x2])[0];
        TensorAssert.Close(plain, gradient, 1e-6, 1e-4, what: "d objective / d latents");
    }

    [Fact]
    public void Gradient_checkpointing_refuses_LoRA_dropout()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        LoraAdapter.Attach(model, new LoraConfig { Dropout = 0.1 }, new Generator(3));
        model.train();
        model.GradientCheckpointing = true;
        using var scope = NewDisposeScope();
        var caseName = fixture.CaseNames[0];
        var error = Assert.Throws<InvalidOperationException>(() => model.call(fixture.Cases.Get(caseName, "sample"),
            fixture.Cases.Get(caseName, "timestep"), fixture.Cases.Get(caseName, "encoder_hidden_states")));
        Assert.Contains("dropout", error.Message);
    }

    [Fact]
    public void Loading_into_an_attached_adapter_keeps_its_parameter_tensors_and_takes_the_files_alpha()
    {
        using var model = UNet2DConditionModel.FromPretrained(fixture.Folder);
        using var reference = UNet2DConditionModel.FromPretrained(fixture.Folder);
        var expected = LoraAdapter.FromFile(reference, LoraPath);
        var adapter = LoraAdapter.Attach(model, new LoraConfig { Rank = expected.Layers.Values.First().Rank, Alpha = 1 }, new Generator(9));
        var before = adapter.TrainableParameters.Select(p => p.Parameter).ToList();
        var handles = before.Select(p => p.Handle).ToList();

        adapter.Load(LoraPath);

        var after = adapter.TrainableParameters.Select(p => p.Parameter).ToList();
        Assert.Equal(handles, after.Select(p => p.Handle));
        Assert.All(after, p => Assert.True(p.requires_grad));
        foreach (var (path, layer) in adapter.Layers)
        {
            var want = expected.Layers[path];
            Assert.Equal(want.Alpha, layer.Alpha);
            Assert.True(want.LoraA!.allclose(layer.LoraA!, 0, 0), $"{path}.lora_A differs");
            Assert.True(want.LoraB!.allclose(layer.LoraB!, 0, 0), $"{path}.lora_B differs");
        }
    }
}
