// The output validation is strict enough to fail: real answers of the service, read
// with the v11 and v10 clients, pass the contract's schema, and each of them with one
// field of the wrong type (or an extra or null field) does not.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { KINDS, getStatus, makeClient, parseOutput, stacks, users } from '../lib/common.mjs';
import { GetStatusInputSchema, GetStatusOutputSchema } from '../lib/schema.mjs';

const MUTATIONS = [
  ['courseId not a UUID', (d) => { d.courseId = 'x'; }],
  ['status outside the enum', (d) => { d.status = 'running'; }],
  ['phase outside the enum', (d) => { d.phase = 'writing'; }],
  ['progress as a string', (d) => { d.progress = String(d.progress); }],
  ['progress fractional', (d) => { d.progress += 0.5; }],
  ['progress above 100', (d) => { d.progress = 101; }],
  ['message not a string', (d) => { d.message = 1; }],
  ['estimatedRemainingSeconds negative', (d) => { d.estimatedRemainingSeconds = -1; }],
  ['estimatedRemainingSeconds as a string', (d) => { d.estimatedRemainingSeconds = '92'; }],
  ['startedAt not ISO 8601', (d) => { d.startedAt = '2025-11-05 12:00:00'; }],
  ['lastUpdatedAt a number', (d) => { d.lastUpdatedAt = Date.parse(d.lastUpdatedAt); }],
  ['a field missing', (d) => { delete d.message; }],
  ['an extra field', (d) => { d.extra = 1; }],
  ['metadata an array', (d) => { d.metadata = []; }],
];

const META_MUTATIONS = {
  generating: [
    ['metadata.batchesCompleted as a string', (m) => { m.batchesCompleted = '4'; }],
    ['metadata.totalBatches fractional', (m) => { m.totalBatches = 8.5; }],
    ['metadata.currentModel a number', (m) => { m.currentModel = 7; }],
    ['metadata.qualityScore above 1', (m) => { m.qualityScore = 1.5; }],
    ['metadata.qualityScore null', (m) => { m.qualityScore = null; }],
  ],
  completed: [
    ['metadata.cost as a string', (m) => { m.cost = '0.28'; }],
    ['metadata.duration fractional', (m) => { m.duration = 1.5; }],
    ['metadata.totalLessons as a string', (m) => { m.totalLessons = '24'; }],
    ['metadata.unknown field', (m) => { m.tokens = 1; }],
  ],
  failed: [
    ['metadata.retryable as a string', (m) => { m.retryable = 'true'; }],
    ['metadata.error a number', (m) => { m.error = 500; }],
  ],
};

const kinds = KINDS.filter((k) => k.name === 'v11 httpLink' || k.name === 'v10 httpLink');

for (const stack of stacks) {
  for (const kind of kinds) {
    describe(`[${stack.name}] ${kind.name}: the output schema rejects wrong types`, () => {
      for (const which of ['generating', 'completed', 'failed']) {
        test(`${which}: the real answer passes, each corrupted copy fails`, async () => {
          const { client } = makeClient(stack, kind, users.ownerToken);
          const real = parseOutput(await getStatus(client, stack.courses[which]));
          assert.equal(real.status, which);
          const all = [...MUTATIONS, ...META_MUTATIONS[which].map(([n, f]) => [n, (d) => f(d.metadata)])];
          for (const [name, mutate] of all) {
            const copy = structuredClone(real);
            mutate(copy);
            assert.throws(() => parseOutput(copy), assert.AssertionError, `${name} was accepted`);
            assert.equal(GetStatusOutputSchema.safeParse(copy).success, false, name);
          }
        });
      }
    });
  }
}

test('the input schema is the contract\'s', () => {
  assert.equal(GetStatusInputSchema.safeParse({ courseId: '123e4567-e89b-12d3-a456-426614174000' }).success, true);
  assert.equal(GetStatusInputSchema.safeParse({ courseId: 'not-a-uuid' }).success, false);
  assert.equal(GetStatusInputSchema.safeParse({}).success, false);
});
