#!/usr/bin/env bash
# Regenerates src/*/PublicAPI.Unshipped.txt from the code, after a deliberate change to a package's public API
# (a new, renamed or removed public type or member). Usage, from anywhere in the repository:
#
#   build/update-public-api.sh              # every package under src/
#   build/update-public-api.sh Core Rewards # only TailorPO.Core and TailorPO.Rewards
#
# How: each Unshipped file is reset to its header, then Roslyn's own code fix for RS0016 ("add to the public API")
# is applied by `dotnet format analyzers` (part of the .NET SDK; works offline), and the lines are sorted so a diff
# shows only what changed. PublicAPI.Shipped.txt is never touched: an API that has shipped and is removed or changed
# still fails the build with RS0017 until the change is written down by hand as a "*REMOVED*" line in Unshipped
# (see docs/contributing.md). Review `git diff -- '*PublicAPI*.txt'` before committing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "$#" -gt 0 ]; then
  projects=()
  for name in "$@"; do projects+=("src/TailorPO.${name#TailorPO.}/TailorPO.${name#TailorPO.}.csproj"); done
else
  mapfile -t projects < <(ls src/*/*.csproj | sort)
fi

for project in "${projects[@]}"; do
  [ -f "$project" ] || { echo "No such package project: $project" >&2; exit 2; }
  dir="$(dirname "$project")"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  # Keep hand-written *REMOVED* lines (the record of deliberate removals of shipped API); drop the rest.
  removed="$( { grep -E '^\*REMOVED\*' "$dir/PublicAPI.Unshipped.txt" 2>/dev/null || true; } )"
  { printf '#nullable enable\n'; [ -z "$removed" ] || printf '%s\n' "$removed"; } > "$dir/PublicAPI.Unshipped.txt"

  echo "== $project"
  nice dotnet restore "$project" > /dev/null
  # The fix is applied to what the analyzer reports; a second pass catches anything the first workspace load missed,
  # and the build below proves the file is complete.
  for pass in 1 2; do
    nice dotnet format analyzers "$project" --diagnostics RS0016 --severity warn --no-restore | grep -v '^ *Formatted code file' || true
  done

  body="$(grep -v '^#nullable enable$' "$dir/PublicAPI.Unshipped.txt" | LC_ALL=C sort -u || true)"
  { printf '#nullable enable\n'; [ -z "$body" ] || printf '%s\n' "$body"; } > "$dir/PublicAPI.Unshipped.txt"
  echo "   $(($(wc -l < "$dir/PublicAPI.Unshipped.txt") - 1)) lines in $dir/PublicAPI.Unshipped.txt"
done

# Every package must now build with its API files as they stand (RS0016 / RS0017 are errors under -warnaserror).
for project in "${projects[@]}"; do
  if ! log="$(nice dotnet build "$project" -c Release -warnaserror --no-restore -nologo 2>&1)"; then
    printf '%s\n' "$log" | grep -E ' error ' | sort -u >&2
    echo "Build of $project failed; see the errors above (RS0017: a shipped API changed, see docs/contributing.md)." >&2
    exit 1
  fi
done
echo "Public API files are up to date. Review: git diff -- '*PublicAPI*.txt'"
