#!/usr/bin/env bash
# Put the ONNX Runtime library for one release target into DEST_DIR, under
# the name the fashionclip binary looks for beside itself, with a NOTICE.
# goreleaser runs it before each target's build (see .goreleaser.yaml); it
# works on any host, since it only unpacks files.
#
#   scripts/fetch-ort-platform.sh VERSION GOOS GOARCH DEST_DIR
#
# Source: the npm package onnxruntime-node, which ships linux x64, linux
# arm64 and darwin arm64 libraries. It has no darwin x64 library, and
# Microsoft publishes no macOS x86_64 build from ONNX Runtime 1.24 on: for
# darwin/amd64 build the library from source and name it with
# ORT_LIB_DARWIN_AMD64. ORT_LIB_<GOOS>_<GOARCH> (a library file) overrides
# the npm package for any target.
set -euo pipefail
usage="usage: fetch-ort-platform.sh VERSION GOOS GOARCH DEST_DIR"
version="${1:?$usage}"
goos="${2:?$usage}"
goarch="${3:?$usage}"
dest="${4:?$usage}"

case "$goos/$goarch" in
  linux/amd64)  member="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"; lib="libonnxruntime.so.1" ;;
  linux/arm64)  member="package/bin/napi-v6/linux/arm64/libonnxruntime.so.1"; lib="libonnxruntime.so.1" ;;
  darwin/arm64) member="package/bin/napi-v6/darwin/arm64/libonnxruntime.${version}.dylib"; lib="libonnxruntime.dylib" ;;
  darwin/amd64) member=""; lib="libonnxruntime.dylib" ;;
  *) echo "fetch-ort-platform: no ONNX Runtime source known for $goos/$goarch" >&2; exit 1 ;;
esac

override_var="ORT_LIB_$(echo "${goos}_${goarch}" | tr '[:lower:]' '[:upper:]')"
override="${!override_var:-}"
mkdir -p "$dest"

if [ -n "$override" ]; then
  [ -f "$override" ] || { echo "fetch-ort-platform: $override_var=$override is not a file" >&2; exit 1; }
  cp -f "$override" "$dest/$lib.partial"
  origin="$(basename "$override"), given in $override_var"
elif [ -z "$member" ]; then
  cat >&2 <<EOF
fetch-ort-platform: no ONNX Runtime $version library for $goos/$goarch:
  onnxruntime-node ships none, and Microsoft stopped publishing macOS x86_64
  builds with ONNX Runtime 1.24. Build it on an Intel Mac (or with
  CMAKE_OSX_ARCHITECTURES=x86_64 on Apple silicon):
    ./build.sh --config Release --build_shared_lib --parallel --osx_arch x86_64
  then set $override_var=/path/to/libonnxruntime.$version.dylib
  (or leave darwin_amd64 out of FASHIONCLIP_TARGETS).
EOF
  exit 1
else
  # One download of the npm tarball serves every target; targets built in
  # parallel may race to fill the cache, so each writes its own temporary
  # file and renames it into place.
  cache="${FASHIONCLIP_RELEASE_CACHE:-.cache/release}/npm"
  tgz="$cache/onnxruntime-node-$version.tgz"
  if [ ! -s "$tgz" ]; then
    command -v npm >/dev/null || { echo "fetch-ort-platform: npm is needed (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/pack.XXXXXX")"
    # `npm pack` only downloads; `npm install` would run a post-install script.
    (cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
    mv -f "$tmp"/onnxruntime-node-*.tgz "$tgz"
    rm -rf "$tmp"
  fi
  tar -xzOf "$tgz" "$member" > "$dest/$lib.partial"
  origin="npm package onnxruntime-node@$version ($member)"
fi
mv -f "$dest/$lib.partial" "$dest/$lib"

cat > "$dest/ONNXRUNTIME-NOTICE.txt" <<EOF
$lib is ONNX Runtime $version (Copyright (c) Microsoft Corporation),
distributed under the MIT License:
https://github.com/microsoft/onnxruntime/blob/v$version/LICENSE
Third-party notices:
https://github.com/microsoft/onnxruntime/blob/v$version/ThirdPartyNotices.txt
Taken from: $origin
EOF
echo "fetch-ort-platform: ONNX Runtime $version for $goos/$goarch -> $dest/$lib" >&2
