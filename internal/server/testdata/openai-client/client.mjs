// Runs a plan of calls against a fashionclip server with the official openai
// client and prints what the client returned, as JSON, for the Go test to
// check. Usage: node client.mjs PLAN.json   (env: BASE_URL, API_KEY)
//
// A plan is {"calls": [{"name", "op", ...}]} where op is
//   "embeddings"      with "params" for client.embeddings.create
//   "models.list"
//   "models.retrieve" with "id"
//   "post"            with "path" and "body" (a route the client has no method for)
// Each result is the client's answer, or {"error": {status, type, code, param, message}}.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new OpenAI({
  baseURL: process.env.BASE_URL,
  apiKey: process.env.API_KEY,
  // The test asserts on single answers; retries would hide a 429 or 503.
  maxRetries: 0,
  timeout: 120_000,
});

// Embeddings may come back as typed arrays; plain arrays serialise as JSON lists.
const plain = (v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);

async function call(c) {
  switch (c.op) {
    case 'embeddings': {
      const res = await client.embeddings.create(c.params);
      return { ...res, data: res.data.map((d) => ({ ...d, embedding: plain(d.embedding) })) };
    }
    case 'models.list': {
      const page = await client.models.list();
      return { data: page.data };
    }
    case 'models.retrieve':
      return await client.models.retrieve(c.id);
    case 'post':
      return await client.post(c.path, { body: c.body });
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

const results = {};
for (const c of plan.calls) {
  try {
    results[c.name] = await call(c);
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) {
      throw err;
    }
    results[c.name] = {
      error: { status: err.status, type: err.type, code: err.code, param: err.param, message: err.message },
    };
  }
}
process.stdout.write(JSON.stringify({ client: 'openai-node', results }) + '\n');
