using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>The shared forward of the text models: validate, run, project, hand out the results.</summary>
internal static class ClipTextRunner
{
    public static CLIPTextModelOutput Run(CLIPTextTransformer textModel, CLIPTextConfig config, Linear? projection,
        Tensor inputIds, Tensor? attentionMask, bool outputHiddenStates)
    {
        using var scope = NewDisposeScope();
        var device = DeviceOf(textModel);
        var ids = ClipInputs.TokenIds(inputIds, config, device, nameof(inputIds));
        var mask = ClipInputs.AttentionMask(attentionMask, ids, device, nameof(attentionMask));
        var hiddenStates = outputHiddenStates ? new List<Tensor>() : null;
        var (last, pooled) = textModel.Forward(ids, mask, hiddenStates);
        var projected = projection?.forward(pooled);

        last.MoveToOuterDisposeScope();
        pooled.MoveToOuterDisposeScope();
        projected?.MoveToOuterDisposeScope();
        foreach (var state in hiddenStates ?? []) state.MoveToOuterDisposeScope();
        return new CLIPTextModelOutput(last, pooled, projected, hiddenStates ?? []);
    }

    public static Device DeviceOf(nn.Module module) => module.parameters().First().device;

    public static ScalarType DTypeOf(nn.Module module) => module.parameters().First().dtype;
}
