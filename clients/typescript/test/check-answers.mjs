// check-answers.mjs: every answer the service gave in the recorded end-to-end run
// must parse with the package's strict zod schemas (dist/, as a front end gets
// them): each result with GetStatusOutputSchema, each error with
// TRPCErrorShapeSchema. A field the service sends that the type lacks fails
// (the schemas are strict); so does an answer that is neither.
//
//     node test/check-answers.mjs ANSWERS.json
//
// ANSWERS.json: [{module, method, target, status, contentType, transformer, body}]
// (test/record_e2e.py). Batches (arrays), single envelopes and JSONL lines are all
// read; superjson envelopes ({"json": ...}) are unwrapped when the stack used it.
// Also required: the run covered every status, every phase and null, and the
// common error codes (with superjson too: a superjson
// JSONL line is one superjson value around plain envelopes); and the strict
// schema rejects a real answer with one more field.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  GENERATION_PHASES, GENERATION_STATUSES, GetStatusOutputSchema, TRPCErrorShapeSchema,
} from '@coursegen/status-client';

const answers = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const seen = { status: new Set(), phase: new Set(), error: new Set(), results: 0, errors: 0 };
const superjson = { status: new Set(), phase: new Set(), error: new Set() };
const failures = [];

function unwrap(value, transformer) {
  if (transformer !== 'superjson') return value;
  assert.ok(value && typeof value === 'object' && 'json' in value, 'superjson envelope');
  return value.json;
}

// Envelopes in a parsed body: {result:{data}} / {error} at the top, in a batch array,
// or in the JSONL head line's {"0":[[envelope]], ...}.
function envelopes(doc) {
  if (Array.isArray(doc)) return doc.flatMap(envelopes);
  if (doc && typeof doc === 'object') {
    if ('result' in doc || 'error' in doc) return [doc];
    const out = [];
    for (const [k, v] of Object.entries(doc)) {
      if (/^\d+$/.test(k)) out.push(...envelopes(v));
    }
    return out;
  }
  return [];
}

let bodies = 0;
for (const a of answers) {
  if (!a.body) continue;
  const docs = [];
  try {
    if (a.body.includes('\n') && a.body.trim().split('\n').length > 1) {
      for (const line of a.body.trim().split('\n')) docs.push(JSON.parse(line));
    } else {
      docs.push(JSON.parse(a.body));
    }
  } catch {
    continue; // not JSON: /metrics, an intentionally broken request echoed by nginx
  }
  bodies++;
  for (let doc of docs) {
    let transformer = a.transformer;
    // superjson JSONL: the whole line is one superjson value, the envelopes inside plain
    if (transformer === 'superjson' && doc && typeof doc === 'object' && !Array.isArray(doc)
      && 'json' in doc && !('result' in doc) && !('error' in doc)) {
      doc = doc.json;
      transformer = 'none';
    }
    for (const env of envelopes(doc)) {
      const where = `${a.module}: ${a.method} ${a.target} -> ${a.status}`;
      if ('result' in env) {
        const r = GetStatusOutputSchema.safeParse(unwrap(env.result.data, transformer));
        if (r.success) {
          seen.results++;
          seen.status.add(r.data.status);
          seen.phase.add(String(r.data.phase));
          if (a.transformer === 'superjson') {
            superjson.status.add(r.data.status);
            superjson.phase.add(String(r.data.phase));
          }
        } else {
          failures.push(`${where}\n  ${JSON.stringify(env)}\n  ${r.error.message}`);
        }
      } else {
        const r = TRPCErrorShapeSchema.safeParse(unwrap(env.error, transformer));
        if (r.success) {
          seen.errors++;
          seen.error.add(r.data.data.code);
          if (a.transformer === 'superjson') superjson.error.add(r.data.data.code);
        } else {
          failures.push(`${where}\n  ${JSON.stringify(env)}\n  ${r.error.message}`);
        }
      }
    }
  }
}

console.log(`check-answers: ${answers.length} answers, ${bodies} JSON bodies, ` +
  `${seen.results} results, ${seen.errors} errors`);
console.log(`  statuses: ${[...seen.status].sort().join(' ')}`);
console.log(`  phases: ${[...seen.phase].sort().join(' ')}`);
console.log(`  error codes: ${[...seen.error].sort().join(' ')}`);
console.log(`  superjson: ${[...superjson.status].sort().join(' ')}; ` +
  `${[...superjson.phase].sort().join(' ')}; ${[...superjson.error].sort().join(' ')}`);
if (failures.length) {
  console.error(`check-answers: FAIL: ${failures.length} answers do not fit the package's schema:`);
  for (const f of failures.slice(0, 20)) console.error(f);
  process.exit(1);
}
assert.deepEqual([...seen.status].sort(), [...GENERATION_STATUSES].sort(), 'every status seen');
assert.deepEqual([...seen.phase].sort(), [...GENERATION_PHASES, 'null'].sort(), 'every phase seen');
for (const code of ['BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND',
  'INTERNAL_SERVER_ERROR']) {
  assert.ok(seen.error.has(code), `error ${code} seen`);
}
assert.ok(answers.some((a) => a.transformer === 'superjson'), 'superjson answers recorded');
{
  assert.deepEqual([...superjson.status].sort(), [...GENERATION_STATUSES].sort(),
    'every status seen with superjson');
  assert.deepEqual([...superjson.phase].sort(), [...GENERATION_PHASES, 'null'].sort(),
    'every phase seen with superjson');
  for (const code of ['BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND']) {
    assert.ok(superjson.error.has(code), `error ${code} seen with superjson`);
  }
}
// The schema is strict: a real answer with one field more does not parse.
const real = answers.map((a) => { try { return JSON.parse(a.body); } catch { return null; } })
  .find((d) => d && d.result && d.result.data && d.result.data.metadata);
assert.ok(real, 'a success with metadata was recorded');
assert.equal(GetStatusOutputSchema.safeParse(real.result.data).success, true);
assert.equal(GetStatusOutputSchema.safeParse({ ...real.result.data, title: 'x' }).success, false,
  'an extra top-level field is rejected');
assert.equal(GetStatusOutputSchema.safeParse({
  ...real.result.data, metadata: { ...real.result.data.metadata, tokensUsed: 1 },
}).success, false, 'an extra metadata field is rejected');
console.log('check-answers: PASS');
