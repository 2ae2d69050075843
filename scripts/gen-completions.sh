#!/usr/bin/env bash
# Write the shell completion scripts into DIR (default completions/):
# fashionclip.bash, _fashionclip (zsh), fashionclip.fish, fashionclip.ps1.
# With --check, write them to a temporary folder and fail when DIR differs,
# so CI notices a command or flag change without regenerated files.
#
#   scripts/gen-completions.sh [--check] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
dir="${1:-completions}"
go="${GO:-go}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# One build for the four scripts; the scripts ask the binary for candidates
# at completion time, so they depend only on the command's name.
"$go" build -o "$tmp/fashionclip" ./cmd/fashionclip
out="$dir"
if [ "$check" = 1 ]; then out="$tmp/out"; fi
mkdir -p "$out"
# A fixed, empty environment: nothing from the caller's shell (NO_COLOR,
# FASHIONCLIP_*) may leak into the files.
gen() { env -i PATH="$PATH" HOME="$tmp" "$tmp/fashionclip" completion "$1" > "$out/$2"; }
gen bash fashionclip.bash
gen zsh _fashionclip
gen fish fashionclip.fish
gen powershell fashionclip.ps1

if [ "$check" = 1 ]; then
  if ! diff -ru "$dir" "$out" >&2; then
    echo "completions: $dir is out of date; run 'make completions' and commit the result" >&2
    exit 1
  fi
  echo "completions: $dir is up to date" >&2
fi
