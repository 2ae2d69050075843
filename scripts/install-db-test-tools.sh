#!/usr/bin/env bash
# Installs the real engines that the export tests (internal/export) load
# our files into: PostgreSQL from Debian, and DuckDB, LanceDB, parquet-wasm
# and apache-arrow from npm into a cache folder outside the repo.
#
#   scripts/install-db-test-tools.sh          # installs, prints the folder
#   export FASHIONCLIP_DBTEST_DIR=$(scripts/install-db-test-tools.sh)
#
# The tests look in $FASHIONCLIP_DBTEST_DIR, else in the default folder
# below, and skip (saying what is missing) when an engine is not there.
set -euo pipefail

dir="${FASHIONCLIP_DBTEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fashionclip/dbtest}"

if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
	else
		echo "PostgreSQL is missing: run 'apt-get install postgresql' as root" >&2
	fi
fi

mkdir -p "$dir"
cd "$dir"
# Pinned: LanceDB 0.31.0 is the newest whose Linux build is served here; it
# wants apache-arrow <= 18.1.0. parquet-wasm (arrow-rs compiled to wasm)
# turns our Parquet into Arrow for LanceDB, honouring ARROW:schema as
# LanceDB's own Rust reader does.
cat > package.json <<'JSON'
{
  "name": "fashionclip-dbtest",
  "private": true,
  "dependencies": {
    "@duckdb/node-api": "1.5.6-r.1",
    "@lancedb/lancedb": "0.31.0",
    "apache-arrow": "18.1.0",
    "parquet-wasm": "0.8.0"
  }
}
JSON
if [ ! -d node_modules/@lancedb/lancedb ] || [ ! -d node_modules/@duckdb/node-api ] || [ ! -d node_modules/parquet-wasm ]; then
	npm install --no-audit --no-fund --loglevel=error >&2
fi
echo "$dir"
