// Batches split by the client: maxItems (v11 httpBatchLink, httpBatchStreamLink, with
// and without methodOverride 'POST') and maxURLLength (v11 and v10 httpBatchLink). The
// split is checked on the requests the link really sent (a recording fetch) and on the
// lines nginx wrote to its access log, and every call still gets its own answer in
// order. Also the server's batch limit (MAX_BATCH, 32 by default): 40 calls in one
// request fail as a whole with BAD_REQUEST, maxItems 32 makes them pass.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  KINDS, PROC, accessLogFor, expectTRPCError, expectedCompleted, expectedFailed,
  getStatus, inputsOf, makeClient, parseCall, parseOutput, stacks, users,
} from '../lib/common.mjs';

const kind = (name) => KINDS.find((k) => k.name === name);

/** ids[i] -> the expected outcome checker of call i. */
function checker(stack) {
  const c = stack.courses;
  return {
    [c.generating]: (s) => {
      assert.equal(s.status, 'fulfilled', String(s.reason));
      assert.equal(parseOutput(s.value).status, 'generating');
    },
    [c.completed]: (s) => {
      assert.equal(s.status, 'fulfilled', String(s.reason));
      assert.deepEqual(parseOutput(s.value), expectedCompleted(c.completed));
    },
    [c.failed]: (s) => {
      assert.equal(s.status, 'fulfilled', String(s.reason));
      assert.deepEqual(parseOutput(s.value), expectedFailed(c.failed));
    },
    [c.missing]: async (s, E) => {
      assert.equal(s.status, 'rejected');
      await expectTRPCError(Promise.reject(s.reason), E, 'NOT_FOUND');
    },
  };
}

/** Send `ids` at once through a client of `k` with `opts`; check every answer and
 *  return the recorded requests (after checking nginx saw exactly those). */
async function sendAll(stack, k, opts, ids) {
  const cl = makeClient(stack, k, users.ownerToken, opts);
  const settled = await Promise.allSettled(ids.map((id) => getStatus(cl.client, id)));
  const check = checker(stack);
  for (let i = 0; i < ids.length; i++) await check[ids[i]](settled[i], cl.TRPCClientError);
  const lines = await accessLogFor(stack, cl.tag, cl.calls.length);
  assert.equal(lines.length, cl.calls.length,
    `nginx saw ${lines.length} requests, the client sent ${cl.calls.length}`);
  for (const line of lines) assert.match(line, new RegExp(`"${k.method} ${stack.basePath}/`));
  // the calls went out in order, each exactly once
  const sent = cl.calls.flatMap((rec) => {
    const { paths, inputs } = inputsOf(stack, k, rec);
    assert.ok(paths.every((p) => p === PROC));
    assert.equal(paths.length, inputs.length);
    return inputs.map((inp) => inp.courseId);
  });
  assert.deepEqual(sent, ids);
  return cl.calls;
}

for (const stack of stacks) {
  const c = stack.courses;
  const five = [c.generating, c.completed, c.missing, c.failed, c.completed];

  describe(`[${stack.name}] maxItems`, () => {
    for (const name of ['v11 httpBatchLink', 'v11 httpBatchStreamLink',
      "v11 httpBatchLink methodOverride 'POST'"]) {
      test(`${name}: maxItems 2 sends 5 calls as 2 + 2 + 1`, async () => {
        const k = kind(name);
        const calls = await sendAll(stack, k, { maxItems: 2 }, five);
        assert.deepEqual(calls.map((r) => inputsOf(stack, k, r).paths.length), [2, 2, 1]);
        for (const r of calls) {
          assert.equal(r.method, k.method);
          assert.equal(parseCall(r).batch, true);
        }
      });
    }

    test('v11 httpBatchLink without maxItems: the same 5 calls in one request', async () => {
      const calls = await sendAll(stack, kind('v11 httpBatchLink'), {}, five);
      assert.equal(calls.length, 1);
    });
  });

  describe(`[${stack.name}] maxURLLength`, () => {
    for (const name of ['v11 httpBatchLink', 'v11 httpBatchStreamLink', 'v10 httpBatchLink']) {
      test(`${name}: URLs kept under the limit by splitting`, async () => {
        const k = kind(name);
        const ids = [c.completed, c.failed, c.generating, c.missing, c.completed, c.failed,
          c.generating];
        // the URL of one call, and what each further call adds to it
        const one = (await sendAll(stack, k, {}, [c.completed]))[0].url.length;
        const two = (await sendAll(stack, k, {}, [c.completed, c.failed]))[0].url.length;
        const step = two - one;
        assert.ok(step > 36, `a call adds ${step} characters`);
        // room for 3 calls per request, not 4
        const max = one + 2 * step + Math.floor(step / 2);
        const calls = await sendAll(stack, k, { maxURLLength: max }, ids);
        for (const r of calls) assert.ok(r.url.length <= max, `${r.url.length} > ${max}`);
        assert.deepEqual(calls.map((r) => inputsOf(stack, k, r).paths.length), [3, 3, 1]);
        const whole = await sendAll(stack, k, {}, ids);
        assert.equal(whole.length, 1, 'without the limit: one request');
        assert.ok(whole[0].url.length > max);
      });
    }
  });

  describe(`[${stack.name}] the server's batch limit (MAX_BATCH ${stack.maxBatch})`, () => {
    const n = stack.maxBatch + 8;
    for (const name of ['v11 httpBatchLink', 'v11 httpBatchStreamLink',
      "v11 httpBatchLink methodOverride 'POST'"]) {
      test(`${name}: ${n} calls in one request fail with BAD_REQUEST, maxItems ${stack.maxBatch} passes`,
        async () => {
          const k = kind(name);
          const ids = Array.from({ length: n }, (_, i) => [c.completed, c.failed][i % 2]);
          const big = makeClient(stack, k, users.ownerToken);
          const settled = await Promise.allSettled(ids.map((id) => getStatus(big.client, id)));
          assert.equal(big.calls.length, 1);
          for (const s of settled) {
            assert.equal(s.status, 'rejected');
            await expectTRPCError(Promise.reject(s.reason), big.TRPCClientError, 'BAD_REQUEST',
              { message: 'Batch call exceeds maximum size', path: null });
          }
          const calls = await sendAll(stack, k, { maxItems: stack.maxBatch }, ids);
          assert.deepEqual(calls.map((r) => inputsOf(stack, k, r).paths.length),
            [stack.maxBatch, n - stack.maxBatch]);
        });
    }
  });
}
