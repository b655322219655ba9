using System.Reflection;
using System.Text.RegularExpressions;
using TailorPO.Core.Options;
using TailorPO.Guidance.Options;
using TailorPO.Rewards.Options;
using TailorPO.Rewards.Jpeg;

namespace TailorPO.Guidance.Tests.Docs;

/// <summary>docs/options.md documents every settable knob of the options classes these packages define.</summary>
public class OptionsDocTests
{
    public static TheoryData<Type> OptionTypes() =>
    [
        typeof(TailorPOCoreOptions), typeof(NoiseScheduleOptions), typeof(SamplingOptions), typeof(PreferenceLossOptions),
        typeof(DdpoOptions), typeof(FinetuneOptions), typeof(TailorPORewardsOptions), typeof(RewardMemberOptions),
        typeof(TailorPOGuidanceOptions), typeof(JpegRewardOptions),
    ];

    [Theory]
    [MemberData(nameof(OptionTypes))]
    public void Options_doc_names_every_knob(Type type)
    {
        var doc = RepositoryFiles.ReadText("docs", "options.md");
        var knobs = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite || p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(IList<>))
            .Select(p => p.Name)
            .ToList();
        Assert.NotEmpty(knobs);
        // A knob appears in code font, alone or after its group: `Eta` or `Sampling.Eta`.
        var missing = knobs.Where(k => !Regex.IsMatch(doc, $@"`([A-Za-z]+\.)?{k}`")).ToList();
        Assert.True(missing.Count == 0, $"docs/options.md does not document {type.Name}.{string.Join($", {type.Name}.", missing)}.");
    }
}
