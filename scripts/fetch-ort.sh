#!/usr/bin/env bash
# Fetch the ONNX Runtime shared library from the npm package onnxruntime-node.
# `npm pack` only downloads the tarball; `npm install` would run a post-install
# script that reaches hosts we cannot rely on.
set -euo pipefail
version="${1:?usage: fetch-ort.sh VERSION DEST_DIR}"
dest="${2:?usage: fetch-ort.sh VERSION DEST_DIR}"

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64)  member="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"; lib="libonnxruntime.so.1" ;;
  Linux/aarch64) member="package/bin/napi-v6/linux/arm64/libonnxruntime.so.1"; lib="libonnxruntime.so.1" ;;
  Darwin/arm64)  member="package/bin/napi-v6/darwin/arm64/libonnxruntime.${version}.dylib"; lib="libonnxruntime.dylib" ;;
  *) echo "fetch-ort: no onnxruntime-node build for $(uname -s)/$(uname -m); use 'fashionclip runtime install'" >&2; exit 1 ;;
esac

if [ -s "$dest/$lib" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-ort: npm is needed to fetch ONNX Runtime (apt-get install npm)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@${version}" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" "$member"
mkdir -p "$dest"
# Rename into place so an interrupted fetch never leaves a half-written library.
cp "$tmp/$member" "$dest/$lib.partial"
mv "$dest/$lib.partial" "$dest/$lib"
echo "$version" > "$dest/VERSION"
echo "fetch-ort: ONNX Runtime $version -> $dest/$lib" >&2
