#!/usr/bin/env bash
# Run the pinned transformers.js zero-shot baseline (classify.mjs) over a
# folder of JPEGs. Installs the exact versions of package-lock.json first.
#
#   scripts/transformersjs/run.sh --model SPLIT_MODEL_DIR --threads N IMAGES_DIR
#
# `npm ci` runs with --ignore-scripts: onnxruntime-node's post-install script
# only fetches the CUDA providers from NuGet (unreachable here, and unused on
# CPU); its CPU library and Node binding are already inside the npm tarball.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null || { echo "transformersjs: node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }
binding="$here/node_modules/onnxruntime-node/bin/napi-v6/$(node -p 'process.platform + "/" + process.arch')/onnxruntime_binding.node"
if [ ! -s "$binding" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
[ -s "$binding" ] || { echo "transformersjs: onnxruntime-node has no CPU binding at $binding" >&2; exit 1; }
exec node "$here/classify.mjs" "$@"
