#!/usr/bin/env bash
# Packs the six packages into a local folder and compiles the C# block of each package README (src/*/README.md)
# as a console app that references that package from the folder, as a user would after `dotnet add package`.
# A README block that starts with "// Excerpt:" ... is not a whole program: it is compiled after the declarations
# that its comment names (see Training's). Nothing runs; a model folder is not needed.
#
#   build/check-package-readmes.sh [work-folder]     # default: a new temporary folder, removed afterwards
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d)}"
[ "$#" -gt 0 ] || trap 'rm -rf "$work"' EXIT
feed="$work/feed"
mkdir -p "$feed"

for package in Core Diffusion Rewards RewardModels Guidance Training; do
  nice dotnet pack "$root/src/TailorPO.$package" -c Release -o "$feed" -nologo -v quiet
done
version="$(ls "$feed"/TailorPO.Core.*.nupkg | sed -E 's/.*TailorPO\.Core\.(.*)\.nupkg/\1/')"

# A packages folder of its own, so this version never lands in (or is read stale from) the user's NuGet cache;
# everything else comes from the machine's feeds and cache as usual.
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources><add key="tailorpo-local" value="$feed" /></packageSources>
</configuration>
XML
printf '<Project />\n' > "$work/Directory.Build.props"
printf '<Project />\n' > "$work/Directory.Build.targets"
printf '<Project />\n' > "$work/Directory.Packages.props"

failed=0
for package in Core Diffusion Rewards RewardModels Guidance Training; do
  readme="$root/src/TailorPO.$package/README.md"
  app="$work/readme-$package"
  mkdir -p "$app"
  awk '/^```csharp$/{inside=1; next} /^```$/{inside=0} inside' "$readme" > "$app/Program.cs"
  extra=""
  case "$package" in
    Training) extra='<PackageReference Include="TailorPO.Diffusion" Version="'"$version"'" /><PackageReference Include="TailorPO.Rewards" Version="'"$version"'" /><PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.0" />'
              # The README's excerpt takes `provider` from the reference trainers page; declare it for the compiler.
              printf 'partial class Program { static System.IServiceProvider provider = null!; }\n' > "$app/Provider.cs";;
    Guidance) extra='<PackageReference Include="TailorPO.Rewards" Version="'"$version"'" />';;
    RewardModels) extra='<PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.0" />';;
  esac
  cat > "$app/readme-$package.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="TailorPO.$package" Version="$version" />
    $extra
  </ItemGroup>
</Project>
XML
  if nice dotnet build "$app" -c Release -nologo -v quiet > "$app/build.log" 2>&1; then
    echo "ok    src/TailorPO.$package/README.md"
  else
    echo "FAIL  src/TailorPO.$package/README.md"; grep -E ' error ' "$app/build.log" | sort -u; failed=1
  fi
done
exit "$failed"
