#!/bin/bash
# compare.sh: warm start-up, whole processes side by side, configurations
# alternated round by round (forward, then backward), median wall time of
# each. It compares the naive floor (scripts/naivefloor over the cut fp32
# towers), ONNX Runtime sessions from memory-mapped ORT-format files
# (scripts/ortstart -mode ortmmap), and fashionclip itself (classify one
# image; embed one text), in fp32 and int8.
#
#   GRAPHS holds v32.onnx t32.onnx (the cut fp32 towers, from the graph
#   cache) and v8.onnx t8.onnx (the int8 towers), and their .ort forms made
#   once with: ortstart -mode save v32.onnx=v32.ort (and so on).
#
#   scripts/ortstart/compare.sh BIN MODEL GRAPHS IMAGE [ROUNDS] [BIN2]
#
# BIN2, when given, is a second fashionclip build measured beside BIN (a
# candidate change). The caches ($FASHIONCLIP_CACHE) must be warm: run
# each fashionclip line once first.
set -euo pipefail
bin=$1 model=$2 graphs=$3 image=$4 rounds=${5:-5} bin2=${6:-}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/naivefloor" ./scripts/naivefloor && go build -o "$tmp/ortstart" ./scripts/ortstart)
g=$graphs
configs=(
  "floor-both|$tmp/naivefloor -threads 2 -vision $g/v32.onnx -text $g/t32.onnx"
  "ortmmap-fp32-both|$tmp/ortstart -mode ortmmap $g/v32.onnx=$g/v32.ort $g/t32.onnx=$g/t32.ort"
  "ortmmap-int8-both|$tmp/ortstart -mode ortmmap $g/v8.onnx=$g/v8.ort $g/t8.onnx=$g/t8.ort"
  "floor-text|$tmp/naivefloor -threads 2 -text $g/t32.onnx"
  "ortmmap-fp32-text|$tmp/ortstart -mode ortmmap $g/t32.onnx=$g/t32.ort"
  "ortmmap-int8-text|$tmp/ortstart -mode ortmmap $g/t8.onnx=$g/t8.ort"
)
for b in "$bin" $bin2; do
  n=$(basename "$b")
  for v in fp32 int8; do
    configs+=("$n-classify-$v|$b classify $image --labels dress,boot -q --threads 2 --variant $v --model $model")
    configs+=("$n-text-$v|$b embed --text red_dress -q --threads 2 --variant $v --model $model")
  done
done
: >"$tmp/times"
for ((r = 1; r <= rounds; r++)); do
  idx=$(seq 0 $((${#configs[@]} - 1)))
  ((r % 2 == 0)) && idx=$(seq $((${#configs[@]} - 1)) -1 0)
  for i in $idx; do
    name=${configs[$i]%%|*} cmd=${configs[$i]#*|}
    s=$(date +%s%N)
    $cmd >/dev/null 2>"$tmp/err" || { echo "$name failed:" >&2; cat "$tmp/err" >&2; exit 1; }
    e=$(date +%s%N)
    echo "$name $(((e - s) / 1000000))" >>"$tmp/times"
  done
done
echo "configuration median_ms (runs)"
awk '{a[$1] = a[$1] " " $2} END {for (k in a) print k a[k]}' "$tmp/times" | sort | while read -r k rest; do
  med=$(tr ' ' '\n' <<<"$rest" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
  echo "$k $med ($rest)"
done
