// Shared helpers of the client tests: the configuration written by driver.py, the
// clients (real @trpc/client v11 and v10 links, optionally with superjson), a
// recording fetch, nginx access-log counting, and the assertions on outputs and
// TRPCClientErrors.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import * as v11 from '@trpc/client';
import superjson from 'superjson';

import * as v10 from '../v10/index.mjs';
import { GetStatusOutputSchema } from './schema.mjs';

export { sleep, v10, v11 };

if (!process.env.CLIENT_TESTS_CONFIG) {
  throw new Error('CLIENT_TESTS_CONFIG is not set: run these tests through tests/run-clients');
}

/** The configuration written by driver.py (see write_config there). */
export const config = JSON.parse(readFileSync(process.env.CLIENT_TESTS_CONFIG, 'utf8'));

export const PROC = 'generation.getStatus';

/** The stacks under test: [{name, url, accessLog, transformer, psql, courses, ...}]. */
export const stacks = config.stacks;

export const users = config.users;

// The error table of the README (codes and messages).
export const ERRORS = {
  UNAUTHORIZED: { rpc: -32001, status: 401, message: 'Invalid or missing access token' },
  FORBIDDEN: { rpc: -32003, status: 403, message: 'You do not have access to this course' },
  NOT_FOUND: { rpc: -32004, status: 404, message: 'Course not found' },
  BAD_REQUEST: { rpc: -32600, status: 400, message: null },
};

// ---------------------------------------------------------------- recording fetch

/**
 * A fetch that records every request (url, method, headers, body) and response
 * (status, headers, the raw body text via a clone) before handing it to the link.
 */
export function recorder() {
  const calls = [];
  const fetchFn = async (input, init = {}) => {
    const url = typeof input === 'string' ? input : (input.url ?? String(input));
    const rec = {
      url,
      method: (init.method ?? 'GET').toUpperCase(),
      headers: new Headers(init.headers ?? {}),
      body: typeof init.body === 'string' ? init.body : (init.body == null ? null : '<non-string>'),
      at: Date.now(),
    };
    calls.push(rec);
    const res = await fetch(input, init);
    rec.doneAt = Date.now();
    rec.status = res.status;
    rec.responseHeaders = res.headers;
    rec.text = res.clone().text();
    rec.text.catch(() => {});
    return res;
  };
  return { fetch: fetchFn, calls };
}

/** The decoded query parameters and the procedure paths of a recorded request. */
export function parseCall(rec) {
  const u = new URL(rec.url);
  const base = config.base.replace(/\/$/, '');
  assert.ok(u.pathname.startsWith(base + '/'), `unexpected path ${u.pathname}`);
  const paths = decodeURIComponent(u.pathname.slice(base.length + 1)).split(',');
  const input = u.searchParams.has('input') ? JSON.parse(u.searchParams.get('input')) : undefined;
  return { paths, batch: u.searchParams.get('batch') === '1', input, url: u };
}

// ---------------------------------------------------------------- clients

/** A unique tag sent as User-Agent, to find a client's requests in nginx's access log. */
export function newTag(what) {
  return `coursegen-client-test/${what.replace(/[^A-Za-z0-9._-]/g, '_')}/${randomUUID()}`;
}

/**
 * A client of one of the link kinds below, for `stack`, sending `token` (none when
 * null). Returns {client, calls, tag, TRPCClientError, kind}.
 *   kind.version  'v11' | 'v10'
 *   kind.link     'httpLink' | 'httpBatchLink' | 'httpBatchStreamLink'
 *   kind.opts     extra link options (methodOverride, maxItems, maxURLLength)
 */
export function makeClient(stack, kind, token, extraOpts = {}) {
  const rec = recorder();
  const tag = newTag(`${stack.name}/${kind.name}`);
  const headers = () => {
    const h = { 'user-agent': tag };
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  };
  const linkOpts = { url: stack.url, headers, fetch: rec.fetch, ...(kind.opts ?? {}), ...extraOpts };
  const useSuperjson = stack.transformer === 'superjson';
  let client;
  let ErrorClass;
  if (kind.version === 'v11') {
    const link = v11[kind.link];
    assert.equal(typeof link, 'function', `@trpc/client v11 has no ${kind.link}`);
    if (useSuperjson) linkOpts.transformer = superjson;
    client = v11.createTRPCClient({ links: [link(linkOpts)] });
    ErrorClass = v11.TRPCClientError;
  } else {
    const link = v10[kind.link];
    assert.equal(typeof link, 'function', `@trpc/client v10 has no ${kind.link}`);
    client = v10.createTRPCProxyClient({
      links: [link(linkOpts)],
      ...(useSuperjson ? { transformer: superjson } : {}),
    });
    ErrorClass = v10.TRPCClientError;
  }
  return { client, calls: rec.calls, tag, TRPCClientError: ErrorClass, kind };
}

/** The link kinds every basic test runs over. */
export const KINDS = [
  { name: 'v11 httpLink', version: 'v11', link: 'httpLink', batching: false, method: 'GET' },
  { name: 'v11 httpBatchLink', version: 'v11', link: 'httpBatchLink', batching: true, method: 'GET' },
  { name: 'v11 httpBatchStreamLink', version: 'v11', link: 'httpBatchStreamLink', batching: true,
    method: 'GET', stream: true },
  { name: "v11 httpLink methodOverride 'POST'", version: 'v11', link: 'httpLink', batching: false,
    method: 'POST', opts: { methodOverride: 'POST' } },
  { name: "v11 httpBatchLink methodOverride 'POST'", version: 'v11', link: 'httpBatchLink',
    batching: true, method: 'POST', opts: { methodOverride: 'POST' } },
  { name: 'v10 httpLink', version: 'v10', link: 'httpLink', batching: false, method: 'GET' },
  { name: 'v10 httpBatchLink', version: 'v10', link: 'httpBatchLink', batching: true, method: 'GET' },
];

export function getStatus(client, courseId) {
  return client.generation.getStatus.query({ courseId });
}

// ---------------------------------------------------------------- assertions

/** Parse with the contract's output schema; a failure names the field. */
export function parseOutput(data) {
  const r = GetStatusOutputSchema.safeParse(data);
  if (!r.success) {
    assert.fail(`output does not match the contract's schema: ${JSON.stringify(r.error.issues)}\n` +
      `output: ${JSON.stringify(data)}`);
  }
  // .strict() already refuses unknown keys; the parsed value must be the value.
  assert.deepEqual(r.data, data);
  return r.data;
}

/**
 * Await `promise`, which must reject with a TRPCClientError (of the client's own
 * version) carrying data.code = key and data.httpStatus; returns the error.
 * message: expected message (default: the README's for the key; null: any);
 * path: expected data.path (default the procedure; null: not checked).
 */
export async function expectTRPCError(promise, ErrorClass, key, { message, path = PROC } = {}) {
  let err;
  try {
    const value = await promise;
    assert.fail(`expected ${key}, got a result: ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.ok(err instanceof ErrorClass,
    `not a TRPCClientError of this client: ${err?.name}: ${err?.message}`);
  assert.equal(err.name, 'TRPCClientError');
  assert.ok(err.data && typeof err.data === 'object',
    `TRPCClientError without data (message: ${err.message}; cause: ${err.cause})`);
  const want = ERRORS[key];
  assert.equal(err.data.code, key, `data.code (message: ${err.message})`);
  assert.equal(err.data.httpStatus, want.status, 'data.httpStatus');
  assert.equal(err.shape?.code, want.rpc, 'shape.code (JSON-RPC)');
  assert.equal(err.shape?.message, err.message);
  if (path !== null) assert.equal(err.data.path, path, 'data.path');
  assert.equal('stack' in err.data, false, 'no stack trace is sent');
  const m = message === undefined ? want.message : message;
  if (m !== null) assert.equal(err.message, m);
  return err;
}

/** The zod issue list carried in a BAD_REQUEST message (JSON.stringify(issues, null, 2)). */
export function zodIssues(err) {
  let issues;
  try {
    issues = JSON.parse(err.message);
  } catch {
    assert.fail(`BAD_REQUEST message is not a zod issue list: ${err.message}`);
  }
  assert.ok(Array.isArray(issues) && issues.length > 0, err.message);
  return issues;
}

// ---------------------------------------------------------------- the wire

function superjsonWrapped(value, where) {
  assert.ok(value && typeof value === 'object' && !Array.isArray(value) && 'json' in value,
    `${where} is not superjson-wrapped ({"json": ...}): ${JSON.stringify(value)}`);
  for (const k of Object.keys(value)) {
    assert.ok(k === 'json' || k === 'meta', `${where}: unexpected key ${k} beside "json"`);
  }
  return value.json;
}

/** One call's envelope as the server sent it, with the superjson wrapping (if any)
 *  checked and removed from result.data / error. */
function unwrapEnvelope(env, useSuperjson, where) {
  assert.ok(env && typeof env === 'object' && !Array.isArray(env), `${where}: ${JSON.stringify(env)}`);
  if ('result' in env) {
    assert.deepEqual(Object.keys(env), ['result'], where);
    if (!useSuperjson) return env;
    return { result: { data: superjsonWrapped(env.result.data, `${where} result.data`) } };
  }
  assert.deepEqual(Object.keys(env), ['error'], where);
  if (!useSuperjson) return env;
  return { error: superjsonWrapped(env.error, `${where} error`) };
}

/**
 * The answer of one recorded request decoded as the link kind reads it: the list of
 * per-call envelopes ({result:{data}} or {error}), with the superjson wrapping
 * checked where the stack uses it: around each result.data and error in single and
 * batch answers, around the whole line in JSONL answers.
 */
export async function envelopesOf(stack, kind, rec, count) {
  const text = await rec.text;
  const sj = stack.transformer === 'superjson';
  if (kind.stream) {
    assert.ok(text.endsWith('\n'), `JSONL answer must end with a newline: ${JSON.stringify(text)}`);
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length >= 1);
    let head = JSON.parse(lines[0]);
    if (sj) head = superjsonWrapped(head, 'JSONL line');
    const out = [];
    for (let i = 0; i < count; i++) {
      const v = head[String(i)];
      assert.ok(Array.isArray(v) && Array.isArray(v[0]) && v[0].length === 1,
        `JSONL head entry ${i} is not a literal [[value]]: ${JSON.stringify(v)}`);
      const env = v[0][0];
      assert.ok(env && ('result' in env || 'error' in env), JSON.stringify(env));
      out.push(env);
    }
    assert.deepEqual(Object.keys(head).sort(), out.map((_, i) => String(i)).sort());
    return out;
  }
  const body = JSON.parse(text);
  if (!kind.batching) return [unwrapEnvelope(body, sj, 'answer')];
  if (!Array.isArray(body)) {
    // a request-level error: one object for every call
    const env = unwrapEnvelope(body, sj, 'answer');
    return Array.from({ length: count }, () => env);
  }
  assert.equal(body.length, count, 'one answer per call');
  return body.map((env, i) => unwrapEnvelope(env, sj, `answer[${i}]`));
}

/** The input as the server received it for the calls of one recorded request,
 *  with the superjson wrapping (if any) checked and removed. */
export function inputsOf(stack, kind, rec) {
  const { input, batch, paths } = parseCall(rec);
  const raw = kind.method === 'POST' ? JSON.parse(rec.body) : input;
  const sj = stack.transformer === 'superjson';
  const un = (v, w) => (sj ? superjsonWrapped(v, w) : v);
  if (!batch) return { paths, inputs: [un(raw, 'input')] };
  assert.ok(raw && typeof raw === 'object' && !Array.isArray(raw), 'batch input is an object');
  return { paths, inputs: paths.map((_, i) => un(raw[String(i)], `input[${i}]`)) };
}

// ---------------------------------------------------------------- nginx access log

function accessLogLines(stack, tag) {
  const text = readFileSync(stack.accessLog, 'utf8');
  return text.split('\n').filter((l) => l.includes(tag));
}

/**
 * The access-log lines of the requests sent with `tag`, once their number has
 * reached `expected` (nginx writes the line after sending the answer, so wait a
 * little) and stayed there for a moment.
 */
export async function accessLogFor(stack, tag, expected) {
  const deadline = Date.now() + 3000;
  let lines = accessLogLines(stack, tag);
  while (lines.length < expected && Date.now() < deadline) {
    await sleep(25);
    lines = accessLogLines(stack, tag);
  }
  await sleep(20);
  return accessLogLines(stack, tag);
}

// ---------------------------------------------------------------- database

/** Run SQL on the stack's database as the superuser (psql over its unix socket). */
export function psql(stack, sql) {
  return new Promise((resolve, reject) => {
    execFile(stack.psql[0], [...stack.psql.slice(1), '-c', sql], { timeout: 10000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`psql failed: ${stderr || error.message}`));
        else resolve(stdout);
      });
  });
}

export function sqlLiteral(s) {
  return `'${String(s).replace(/'/g, "''")}'`;
}

// ---------------------------------------------------------------- contract examples

/** The contract's example outputs (section 5), for the fixtures driver.py inserts. */
export function expectedCompleted(courseId) {
  return {
    courseId,
    status: 'completed',
    phase: 'saving',
    progress: 100,
    message: 'Генерация завершена',
    estimatedRemainingSeconds: null,
    startedAt: '2025-11-05T12:00:00.000Z',
    lastUpdatedAt: '2025-11-05T12:02:30.000Z',
    metadata: { totalLessons: 24, totalSections: 8, cost: 0.28, duration: 150000, qualityScore: 0.88 },
  };
}

export function expectedFailed(courseId) {
  return {
    courseId,
    status: 'failed',
    phase: 'sections',
    progress: 35,
    message: 'Ошибка генерации',
    estimatedRemainingSeconds: null,
    startedAt: '2025-11-05T12:00:00.000Z',
    lastUpdatedAt: '2025-11-05T12:01:45.000Z',
    metadata: { error: 'Token budget exceeded, Gemini fallback failed', retryable: true },
  };
}

/** The generating example without its time-dependent fields (ETA, timestamps). */
export function expectedGenerating(courseId) {
  return {
    courseId,
    status: 'generating',
    phase: 'sections',
    progress: 45,
    message: 'Генерация секций (50% завершено)',
    metadata: { batchesCompleted: 4, totalBatches: 8, currentModel: 'openai/gpt-oss-20b', qualityScore: 0.87 },
  };
}
