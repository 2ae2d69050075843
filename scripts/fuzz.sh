#!/usr/bin/env bash
# Runs every Go fuzz target of the module in turn, one at a time with
# -parallel=1, for FUZZTIME each (default 10m). Targets are discovered with
# `go test -list`, so targets added in any package are picked up without
# editing this script.
#
#   scripts/fuzz.sh [FUZZTIME] [PACKAGES...]     (default ./...)
#   FUZZ_MATCH=regexp  runs only the targets whose name matches
#
# Crashers are written by `go test` to the package's testdata/fuzz/NAME/;
# commit them as regression seeds once fixed. Exit status 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10m}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
match=${FUZZ_MATCH:-.}
go=${GO:-go}

# `go test -list` prints a package's matching names, then "ok  <pkg> <time>".
list=$($go test -run '^$' -list '^Fuzz' "${pkgs[@]}" 2>&1) || { echo "$list" >&2; exit 1; }
targets=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do
			[[ $n =~ $match ]] && targets+=("$pkg $n")
		done
		names=()
		;;
	esac
done <<<"$list"
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each"

failed=()
summary=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "=== $pkg $name"
	log=$(mktemp)
	start=$(date +%s)
	# Progress lines go to the log only; the exit status comes through a file.
	{
		$go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel=1 "$pkg" 2>&1
		echo $? >"$log.rc"
	} | tee "$log" | grep --line-buffered -v '^fuzz: elapsed'
	status=$(cat "$log.rc")
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	summary+=("$(printf '%-60s %-28s %6ss %12s execs  %s' "$pkg" "$name" "$(($(date +%s) - start))" "${execs:-?}" "$([ "$status" -eq 0 ] && echo ok || echo FAIL)")")
	echo "--- ${summary[-1]}"
	[ "$status" -eq 0 ] || failed+=("$pkg $name")
	rm -f "$log" "$log.rc"
done
echo
echo "fuzz.sh summary:"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
	exit 1
fi
