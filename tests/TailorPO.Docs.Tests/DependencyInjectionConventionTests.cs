using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TailorPO.Docs.Tests;

/// <summary>The one DI convention of docs/concepts.md ("API conventions"), checked on every package.</summary>
public sealed class DependencyInjectionConventionTests
{
    private static readonly Assembly[] Packages =
    [
        typeof(TailorPO.Core.Options.TailorPOCoreOptions).Assembly,
        typeof(TailorPO.Diffusion.Options.TailorPODiffusionOptions).Assembly,
        typeof(TailorPO.Rewards.Options.TailorPORewardsOptions).Assembly,
        typeof(TailorPO.Rewards.Options.TailorPORewardModelsOptions).Assembly,
        typeof(TailorPO.Guidance.Options.TailorPOGuidanceOptions).Assembly,
        typeof(TailorPO.Training.Options.TailorPOTrainingOptions).Assembly,
    ];

    public static TheoryData<string> PackageNames()
    {
        var data = new TheoryData<string>();
        foreach (var assembly in Packages) data.Add(assembly.GetName().Name!);
        return data;
    }

    private static Assembly Package(string name) => Packages.Single(a => a.GetName().Name == name);

    // "TailorPO.Diffusion" -> "Diffusion"
    private static string Short(string name) => name["TailorPO.".Length..];

    [Theory]
    [MemberData(nameof(PackageNames))]
    public void The_package_has_one_AddTailorPO_method_in_the_Microsoft_namespace_returning_its_options_builder(string name)
    {
        var package = Package(name);
        var extensions = package.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.IsDefined(typeof(ExtensionAttribute)) && m.GetParameters()[0].ParameterType == typeof(IServiceCollection))
            .ToList();

        var add = Assert.Single(extensions);
        Assert.Equal($"AddTailorPO{Short(name)}", add.Name);
        Assert.Equal("Microsoft.Extensions.DependencyInjection", add.DeclaringType!.Namespace);
        Assert.Equal($"TailorPO{Short(name)}ServiceCollectionExtensions", add.DeclaringType.Name);
        Assert.True(add.ReturnType.IsGenericType && add.ReturnType.GetGenericTypeDefinition() == typeof(OptionsBuilder<>),
            $"{add.Name} returns {add.ReturnType.Name}, not OptionsBuilder<TOptions>.");
        var options = add.ReturnType.GetGenericArguments()[0];
        Assert.Equal($"TailorPO{Short(name)}Options", options.Name);
        Assert.Same(package, options.Assembly);
        var configure = add.GetParameters()[1];
        Assert.Equal(typeof(Action<>).MakeGenericType(options), configure.ParameterType);
        Assert.True(configure.HasDefaultValue && configure.DefaultValue is null, $"{add.Name}'s configure should be optional.");
    }

    [Theory]
    [MemberData(nameof(PackageNames))]
    public void Registering_returns_a_builder_over_the_same_collection_and_adds_a_public_validator(string name)
    {
        var add = Package(name).GetExportedTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Single(m => m.Name == $"AddTailorPO{Short(name)}");
        var services = new ServiceCollection();

        var builder = add.Invoke(null, [services, null])!;

        var options = builder.GetType().GetGenericArguments()[0];
        Assert.Same(services, builder.GetType().GetProperty(nameof(OptionsBuilder<object>.Services))!.GetValue(builder));
        var validators = services.Where(d => d.ServiceType == typeof(IValidateOptions<>).MakeGenericType(options)).ToList();
        var validator = Assert.Single(validators).ImplementationType;
        Assert.NotNull(validator);
        Assert.True(validator!.IsPublic, $"{validator.Name} should be public like every options validator.");
        Assert.Equal($"{options.Name}Validator", validator.Name);
    }

    [Theory]
    [MemberData(nameof(PackageNames))]
    public void The_packages_options_live_in_its_Options_namespace_with_a_SectionName_of_the_package(string name)
    {
        var options = Package(name).GetExportedTypes().Single(t => t.Name == $"TailorPO{Short(name)}Options");

        Assert.Equal($"{RootNamespace(options)}.Options", options.Namespace);
        var section = options.GetField("SectionName", BindingFlags.Public | BindingFlags.Static);
        Assert.True(section is { IsLiteral: true }, $"{options.Name} has no public const SectionName.");
        Assert.Equal($"TailorPO:{Short(name)}", section!.GetRawConstantValue());
    }

    // TailorPO.RewardModels keeps the TailorPO.Rewards namespaces of the rewards it took over.
    private static string RootNamespace(Type options) => string.Join('.', options.Namespace!.Split('.')[..2]);

    [Fact]
    public void Every_options_validator_of_every_package_is_public()
    {
        var hidden = Packages.SelectMany(a => a.GetTypes())
            .Where(t => !t.IsAbstract && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IValidateOptions<>)))
            .Where(t => !t.IsPublic)
            .Select(t => t.FullName)
            .ToList();
        Assert.True(hidden.Count == 0, "Not public: " + string.Join(", ", hidden));
    }
}
