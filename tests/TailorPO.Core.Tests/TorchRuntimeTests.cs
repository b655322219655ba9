using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests;

/// <summary>The build makes TorchSharp load on this host with no manual step.</summary>
public class TorchRuntimeTests
{
    [Fact]
    public void Torch_initialises_and_autograd_differentiates_a_cubic()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new[] { 1.0, 2.0, -3.0 }, requires_grad: true);
        var y = x.pow(3).sum();
        y.backward();

        // d/dx sum(x^3) = 3 x^2
        var expected = new[] { 3.0, 12.0, 27.0 };
        var grad = x.grad!.data<double>().ToArray();
        Assert.Equal(expected, grad);
    }
}
