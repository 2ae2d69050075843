// Loads an export into real engines for internal/export's tests and prints
// what they saw as one JSON object. Run by engines_test.go:
//   DBTEST=<folder of scripts/install-db-test-tools.sh> node engines.mjs '<json>'
// with {"engine": "duckdb"|"lancedb", "files": [...], "query": [...], "k": 5, "dir": tmp}.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(process.env.DBTEST + '/package.json');
const args = JSON.parse(process.argv[2]);
const out = {};

if (args.engine === 'duckdb') {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const files = '[' + args.files.map((f) => `'${f.replaceAll("'", "''")}'`).join(',') + ']';
  const q = `[${args.query.join(',')}]::FLOAT[${args.query.length}]`;
  const all = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
  out.count = Number((await all(`SELECT count(*) AS n FROM read_parquet(${files})`))[0].n);
  out.types = Object.fromEntries((await all(`DESCRIBE SELECT * FROM read_parquet(${files})`)).map((r) => [r.column_name, r.column_type]));
  // The cast fails unless every row has exactly d elements.
  out.rows = await all(`SELECT id, path, kind, text, size, epoch_us(mtime) AS mtime_us, sha256,
      embedding::FLOAT[${args.query.length}] AS embedding FROM read_parquet(${files})`);
  out.top = await all(`SELECT id, array_cosine_similarity(embedding::FLOAT[${args.query.length}], ${q}) AS score
      FROM read_parquet(${files}) ORDER BY score DESC, id LIMIT ${args.k}`);
  out.metadata = await all(`SELECT DISTINCT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${files})
      WHERE decode(key) LIKE 'fashionclip.%'`);
} else if (args.engine === 'lancedb') {
  const arrow = require('apache-arrow');
  const pw = require('parquet-wasm');
  const lancedb = require('@lancedb/lancedb');
  // parquet-wasm is arrow-rs: it reads ARROW:schema as LanceDB's Rust core does.
  const batches = [];
  let schema;
  for (const f of args.files) {
    const t = arrow.tableFromIPC(pw.readParquet(readFileSync(f)).intoIPCStream());
    schema = t.schema;
    batches.push(...t.batches);
  }
  const table = new arrow.Table(schema, batches);
  const emb = schema.fields.find((f) => f.name === 'embedding');
  out.embeddingType = String(emb.type);
  out.mtimeType = String(schema.fields.find((f) => f.name === 'mtime').type);
  out.count = table.numRows;
  const db = await lancedb.connect(args.dir);
  const tbl = await db.createTable('items', table);
  out.lanceCount = await tbl.countRows();
  // No vector index was built: this is LanceDB's flat (exhaustive) search.
  const hits = await tbl.search(Float32Array.from(args.query)).distanceType('cosine').limit(args.k).toArray();
  out.top = hits.map((h) => ({ id: h.id, distance: h._distance }));
  const first = (await tbl.query().limit(3).toArray()).map((r) => ({ id: r.id, embedding: Array.from(r.embedding) }));
  out.rows = first;
} else {
  throw new Error('unknown engine ' + args.engine);
}
process.stdout.write(JSON.stringify(out));
