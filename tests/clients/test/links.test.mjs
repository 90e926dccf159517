// Every link kind (v11 httpLink, httpBatchLink, httpBatchStreamLink, methodOverride
// 'POST'; v10 httpLink, httpBatchLink) on every stack (plain JSON, superjson):
// a generating, a completed and a failed course, read through the real client and
// parsed with the contract's output schema; UNAUTHORIZED, FORBIDDEN, NOT_FOUND and
// BAD_REQUEST as TRPCClientError with data.code and data.httpStatus; what went over
// the wire (method, batch, input, JSONL, superjson wrapping) checked on the recorded
// requests and in nginx's access log.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  KINDS, PROC, accessLogFor, envelopesOf, expectTRPCError, expectedCompleted,
  expectedFailed, expectedGenerating, getStatus, inputsOf, makeClient, parseOutput,
  stacks, users, v10, v11, zodIssues,
} from '../lib/common.mjs';

// The link kinds run side by side (each test uses clients of its own); the tests of
// one kind run one after the other.
for (const stack of stacks) {
  const c = stack.courses;
  describe(`[${stack.name}]`, { concurrency: true }, () => {
    for (const kind of KINDS) {
      describe(`${kind.name}`, { concurrency: 1 }, () => {
        const E = kind.version === 'v11' ? v11.TRPCClientError : v10.TRPCClientError;
        /** One call through a fresh client; checks the request the link sent and that
         *  the raw answer decodes to what the client returned. */
        async function call(token, courseId) {
          const cl = makeClient(stack, kind, token);
          let value;
          let error;
          try {
            value = await getStatus(cl.client, courseId);
          } catch (e) {
            error = e;
          }
          assert.equal(cl.calls.length, 1, 'one HTTP request per call');
          const rec = cl.calls[0];
          assert.equal(rec.method, kind.method);
          const { paths, inputs } = inputsOf(stack, kind, rec);
          assert.deepEqual(paths, [PROC]);
          assert.deepEqual(inputs, [{ courseId }]);
          assert.equal(new URL(rec.url).searchParams.get('batch'), kind.batching ? '1' : null);
          if (kind.method === 'POST') {
            assert.equal(new URL(rec.url).searchParams.has('input'), false, 'POST: input in the body');
            assert.match(rec.headers.get('content-type') ?? '', /^application\/json/);
          }
          assert.equal(rec.headers.get('trpc-accept'), kind.stream ? 'application/jsonl' : null);
          const [env] = await envelopesOf(stack, kind, rec, 1);
          if (error === undefined) {
            assert.deepEqual(env, { result: { data: value } }, 'raw answer = client value');
            assert.equal(rec.status, 200);
          } else if (env.error) {
            assert.deepEqual(env.error, error.shape, 'raw error = client error shape');
            assert.equal(rec.status, kind.stream ? 200 : env.error.data?.httpStatus,
              'HTTP status of the answer');
          }
          const lines = await accessLogFor(stack, cl.tag, 1);
          assert.equal(lines.length, 1, `nginx saw one request:\n${lines.join('\n')}`);
          assert.match(lines[0], new RegExp(`"${kind.method} ${stack.basePath}/${PROC.replace('.', '\\.')}`));
          if (error !== undefined) throw error;
          return value;
        }

        test('generating course (owner): contract example, schema-valid', async () => {
          const d = parseOutput(await call(users.ownerToken, c.generating));
          const after = Date.now();
          const { estimatedRemainingSeconds: eta, startedAt, lastUpdatedAt, ...rest } = d;
          assert.deepEqual(rest, expectedGenerating(c.generating));
          // inserted 75 s after "start": eta = ceil(55 * elapsed / 45) >= 92 (README formula)
          const elapsedMax = 75 + (after - stack.insertedAt) / 1000 + 2;
          assert.ok(Number.isInteger(eta) && eta >= 92 && eta <= Math.ceil((55 * elapsedMax) / 45),
            `eta ${eta}`);
          assert.ok(Math.abs(Date.parse(startedAt) - (stack.insertedAt - 75000)) < 5000, startedAt);
          assert.ok(Math.abs(Date.parse(lastUpdatedAt) - stack.insertedAt) < 5000, lastUpdatedAt);
        });

        test('generating course (organization member) is readable', async () => {
          const d = parseOutput(await call(users.memberToken, c.generating));
          assert.equal(d.courseId, c.generating);
          assert.equal(d.status, 'generating');
        });

        test('completed course: contract example, schema-valid', async () => {
          const d = parseOutput(await call(users.ownerToken, c.completed));
          assert.deepEqual(d, expectedCompleted(c.completed));
        });

        test('failed course: contract example, schema-valid', async () => {
          const d = parseOutput(await call(users.ownerToken, c.failed));
          assert.deepEqual(d, expectedFailed(c.failed));
        });

        test('UNAUTHORIZED: no token', async () => {
          await expectTRPCError(call(null, c.generating), E, 'UNAUTHORIZED');
        });

        test('UNAUTHORIZED: token signed with another secret', async () => {
          await expectTRPCError(call(users.wrongSecretToken, c.generating), E,
            'UNAUTHORIZED');
        });

        test('UNAUTHORIZED: expired token', async () => {
          await expectTRPCError(call(users.expiredToken, c.completed), E,
            'UNAUTHORIZED');
        });

        test('FORBIDDEN: a course of another organization', async () => {
          await expectTRPCError(call(users.ownerToken, c.foreign), E, 'FORBIDDEN');
          await expectTRPCError(call(users.outsiderToken, c.generating), E,
            'FORBIDDEN');
        });

        test('NOT_FOUND: no such course', async () => {
          await expectTRPCError(call(users.ownerToken, c.missing), E, 'NOT_FOUND');
        });

        test('BAD_REQUEST: courseId not a UUID (zod issue list)', async () => {
          const err = await expectTRPCError(call(users.ownerToken, 'not-a-uuid'), E,
            'BAD_REQUEST');
          assert.deepEqual(zodIssues(err), [
            { validation: 'uuid', code: 'invalid_string', message: 'Invalid uuid', path: ['courseId'] },
          ]);
        });

        test('BAD_REQUEST: courseId missing', async () => {
          const cl = makeClient(stack, kind, users.ownerToken);
          const err = await expectTRPCError(cl.client.generation.getStatus.query({}),
            E, 'BAD_REQUEST');
          const issues = zodIssues(err);
          assert.equal(issues.length, 1);
          assert.equal(issues[0].code, 'invalid_type');
          assert.deepEqual(issues[0].path, ['courseId']);
        });

        test('unknown procedure: NOT_FOUND with the path', async () => {
          const cl = makeClient(stack, kind, users.ownerToken);
          await expectTRPCError(cl.client.generation.nope.query({ courseId: c.completed }),
            E, 'NOT_FOUND',
            { message: 'No procedure found on path "generation.nope"', path: 'generation.nope' });
        });

        test('several calls at once: each settles with its own result or error', async () => {
          const cl = makeClient(stack, kind, users.ownerToken);
          const ids = [c.generating, c.completed, c.failed, c.foreign, c.missing, 'not-a-uuid'];
          const settled = await Promise.allSettled(ids.map((id) => getStatus(cl.client, id)));
          assert.equal(settled[0].status, 'fulfilled', String(settled[0].reason));
          assert.equal(parseOutput(settled[0].value).status, 'generating');
          assert.equal(settled[1].status, 'fulfilled', String(settled[1].reason));
          assert.deepEqual(parseOutput(settled[1].value), expectedCompleted(c.completed));
          assert.equal(settled[2].status, 'fulfilled', String(settled[2].reason));
          assert.deepEqual(parseOutput(settled[2].value), expectedFailed(c.failed));
          const keys = ['FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST'];
          for (let i = 0; i < 3; i++) {
            const s = settled[3 + i];
            assert.equal(s.status, 'rejected', `call ${3 + i}`);
            await expectTRPCError(Promise.reject(s.reason), E, keys[i]);
          }
          // batching links put them in one request, the others send one each
          const n = kind.batching ? 1 : ids.length;
          assert.equal(cl.calls.length, n, 'requests sent');
          const lines = await accessLogFor(stack, cl.tag, n);
          assert.equal(lines.length, n, `nginx saw ${n} request(s)`);
          if (kind.batching) {
            const { paths, inputs } = inputsOf(stack, kind, cl.calls[0]);
            assert.deepEqual(paths, ids.map(() => PROC));
            assert.deepEqual(inputs, ids.map((courseId) => ({ courseId })));
            const envs = await envelopesOf(stack, kind, cl.calls[0], ids.length);
            assert.deepEqual(envs.map((e) => ('result' in e ? 'result' : e.error.data.code)),
              ['result', 'result', 'result', ...keys]);
            // mixed outcomes: 207, except JSONL which is always 200
            assert.equal(cl.calls[0].status, kind.stream ? 200 : 207);
          }
        });
      });
    }
  });
}
