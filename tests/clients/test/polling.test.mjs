// The contract's polling hook (section 6.1, useGenerationStatus): refetch every 2 s
// while polling, stop once the status is completed, failed or cancelled. Run with the
// library the hook is built on (@tanstack/query-core's QueryObserver: refetchInterval
// and enabled, set from isPolling exactly as the hook does) and the real tRPC client
// (v11 httpBatchLink), against a course that a simulated generation worker advances
// with psql while it polls (the contract's worker of section 6.2: last_phase,
// batch_count, then the final status).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  QueryClient, QueryObserver, environmentManager, focusManager,
} from '@tanstack/query-core';

import {
  KINDS, accessLogFor, makeClient, parseOutput, psql, sleep, sqlLiteral, stacks, users,
} from '../lib/common.mjs';
import { TERMINAL } from '../lib/schema.mjs';

// The hook runs in a browser tab. Without a `window`, query-core takes the runtime for
// a server and schedules no refetch timers: tell it this is a client, with the tab
// visible (its documented override, environmentManager.setIsServer).
environmentManager.setIsServer(() => false);
focusManager.setFocused(true);

const INTERVAL = 2000;
// Generous bound on every wait for a condition (the hook's next poll behind the
// service's 1 s cache comes within INTERVAL + 1 s; a loaded machine may be slower).
const PATIENCE = 5 * INTERVAL;
const kind = KINDS.find((k) => k.name === 'v11 httpBatchLink');

/**
 * useGenerationStatus(courseId) without React: the same query options, and the
 * effect "status terminal -> setIsPolling(false)" run after each update.
 */
function generationStatusHook(queryClient, trpc, courseId, onUpdate) {
  let isPolling = true;
  const options = () => ({
    queryKey: [['generation', 'getStatus'], { input: { courseId }, type: 'query' }],
    queryFn: () => trpc.generation.getStatus.query({ courseId }),
    refetchInterval: isPolling ? INTERVAL : false,
    enabled: isPolling,
    retry: false,
  });
  const observer = new QueryObserver(queryClient, options());
  const unsubscribe = observer.subscribe((result) => {
    onUpdate(result);
    const s = result.data?.status;
    if (isPolling && s && TERMINAL.includes(s)) {
      isPolling = false;
      observer.setOptions(options());
    }
  });
  return {
    get isPolling() { return isPolling; },
    observer,
    unsubscribe,
  };
}

function setStatus(stack, courseId, status, meta) {
  return psql(stack, `UPDATE courses SET generation_status = ${sqlLiteral(status)}, ` +
    `generation_metadata = ${meta === null ? 'NULL' : `${sqlLiteral(JSON.stringify(meta))}::jsonb`}, ` +
    `updated_at = now() WHERE id = ${sqlLiteral(courseId)}`);
}

const model = { metadata: 'qwen/qwen3-max', sections: 'openai/gpt-oss-20b' };
const SCENARIOS = {
  completed: [
    ['generating', { last_phase: 'metadata', total_batches: 4, model_used: model }],
    ['generating', { last_phase: 'sections', batch_count: 1, total_batches: 4, model_used: model }],
    ['generating', { last_phase: 'sections', batch_count: 3, total_batches: 4, model_used: model }],
    ['generating', { last_phase: 'validation', batch_count: 4, total_batches: 4, model_used: model }],
    ['generating', { last_phase: 'saving', batch_count: 4, total_batches: 4, model_used: model,
      quality_scores: { overall: 0.91 } }],
    ['completed', { total_lessons: 12, total_sections: 4, cost_usd: 0.12,
      duration_ms: { total: 7200 }, quality_scores: { overall: 0.91 } }],
  ],
  failed: [
    ['generating', { last_phase: 'metadata', total_batches: 4 }],
    ['generating', { last_phase: 'sections', batch_count: 2, total_batches: 4 }],
    ['failed', { last_phase: 'sections', last_progress: 45, batch_count: 2,
      error_message: 'Simulated worker failure', retryable: false }],
  ],
};

const FINAL = {
  completed: (id) => ({
    courseId: id, status: 'completed', phase: 'saving', progress: 100,
    message: 'Генерация завершена', estimatedRemainingSeconds: null,
    metadata: { totalLessons: 12, totalSections: 4, cost: 0.12, duration: 7200, qualityScore: 0.91 },
  }),
  failed: (id) => ({
    courseId: id, status: 'failed', phase: 'sections', progress: 45,
    message: 'Ошибка генерации', estimatedRemainingSeconds: null,
    metadata: { error: 'Simulated worker failure', retryable: false },
  }),
};

const ORDER = { queued: 0, generating: 1, completed: 2, failed: 2, cancelled: 2 };

/** Poll cond() every 25 ms until it holds; fail with `what` after PATIENCE ms. */
async function waitFor(cond, what) {
  const deadline = Date.now() + PATIENCE;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `waited ${PATIENCE} ms for ${what}`);
    await sleep(25);
  }
}

const stateOf = (d) => `${d.status}/${d.phase}/${d.progress}`;
const PHASES = [null, 'metadata', 'sections', 'validation', 'saving'];

async function pollScenario(stack, which) {
  const courseId = which === 'completed' ? stack.courses.pollCompleted : stack.courses.pollFailed;
  const cl = makeClient(stack, kind, users.ownerToken);
  const queryClient = new QueryClient();
  queryClient.mount();
  const seen = [];
  let lastUpdated = 0;
  let terminalAt = null;
  let firstData;
  const gotFirst = new Promise((resolve) => { firstData = resolve; });
  // A witness: the same hook on a course that stays generating, polling all along
  // (its own client, so its requests are counted apart): the page's clock.
  const witness = makeClient(stack, kind, users.ownerToken);
  const witnessHook = generationStatusHook(queryClient, witness.client,
    stack.courses.generating, () => {});
  const hook = generationStatusHook(queryClient, cl.client, courseId, (r) => {
    if (r.error) seen.push({ error: r.error });
    if (r.data && r.dataUpdatedAt !== lastUpdated) {
      lastUpdated = r.dataUpdatedAt;
      seen.push({ data: r.data, at: Date.now() });
      firstData();
      if (TERMINAL.includes(r.data.status) && terminalAt === null) terminalAt = Date.now();
    }
  });
  try {
    await Promise.race([gotFirst, sleep(10000)]);
    assert.ok(seen.length > 0, 'no answer within 10 s');
    // the simulated worker: each step once the hook has shown the one before (the
    // hook's polling, not a clock, sets the pace)
    for (const [status, meta] of SCENARIOS[which]) {
      const shown = seen.filter((x) => x.data).length;
      const before = stateOf(seen.filter((x) => x.data).at(-1).data);
      await setStatus(stack, courseId, status, meta);
      await waitFor(() => seen.filter((x) => x.data).length > shown &&
        stateOf(seen.filter((x) => x.data).at(-1).data) !== before,
        `the hook to show ${status} ${JSON.stringify(meta)}: ${JSON.stringify(seen)}`);
    }
    assert.notEqual(terminalAt, null, `never saw the terminal status: ${JSON.stringify(seen)}`);
    const requestsAtTerminal = cl.calls.length;
    // polling has stopped: nothing more while the witness polls three more times (two
    // full intervals of the same timers)
    const witnessAtTerminal = witness.calls.length;
    await waitFor(() => witness.calls.length >= witnessAtTerminal + 3, 'the witness to poll');
    assert.equal(hook.isPolling, false);
    assert.equal(cl.calls.length, requestsAtTerminal, 'requests after the terminal status');
    const lines = await accessLogFor(stack, cl.tag, cl.calls.length);
    assert.equal(lines.length, cl.calls.length, 'nginx saw every poll, and only those');
  } finally {
    witnessHook.unsubscribe();
    hook.unsubscribe();
    queryClient.clear();
    queryClient.unmount();
  }

  assert.deepEqual(seen.filter((s) => s.error).map((s) => String(s.error)), [], 'no query errors');
  const datas = seen.map((s) => s.data);
  for (const d of datas) {
    parseOutput(d);
    assert.equal(d.courseId, courseId);
  }
  // one update per poll, the first before the worker started
  assert.equal(datas.length, cl.calls.length);
  assert.equal(datas[0].status, 'queued');
  assert.equal(datas[0].progress, 0);
  // polls at the hook's interval, never sooner: query-core restarts the interval
  // timer on every update of the query, so each poll comes refetchInterval after the
  // previous answer arrived (a timer never fires early; it may fire late on a loaded
  // machine, which the waits above allow for)
  const waits = cl.calls.slice(1).map((r, i) => r.at - cl.calls[i].doneAt);
  for (const [i, wait] of waits.entries()) {
    assert.ok(wait >= INTERVAL - 100,
      `poll ${i + 1} came ${wait} ms after the previous answer (all: ${waits.join(', ')})`);
  }
  // the course only moves forward, and the hook saw it generating
  for (let i = 1; i < datas.length; i++) {
    const [a, b] = [datas[i - 1], datas[i]];
    assert.ok(ORDER[b.status] >= ORDER[a.status], `${a.status} -> ${b.status}`);
    assert.ok(b.progress >= a.progress, `progress ${a.progress} -> ${b.progress}`);
    if (b.status === 'generating' && a.status === 'generating') {
      assert.ok(PHASES.indexOf(b.phase) >= PHASES.indexOf(a.phase), `${a.phase} -> ${b.phase}`);
    }
  }
  // every step of the worker was shown, in order (the worker waited for each)
  const states = datas.map(stateOf).filter((st, i, all) => i === 0 || st !== all[i - 1]);
  assert.equal(states.length, SCENARIOS[which].length + 1, states.join(' -> '));
  const generating = datas.filter((d) => d.status === 'generating');
  for (const d of generating) {
    assert.ok(Number.isInteger(d.estimatedRemainingSeconds), 'ETA while generating');
  }
  // exactly one terminal answer, the last one
  assert.equal(datas.filter((d) => TERMINAL.includes(d.status)).length, 1);
  const last = datas[datas.length - 1];
  const { startedAt, lastUpdatedAt, ...rest } = last;
  assert.deepEqual(rest, FINAL[which](courseId));
  assert.ok(Date.parse(lastUpdatedAt) >= Date.parse(startedAt));
  return { datas, waits };
}

describe('polling hook (refetch every 2 s until a terminal status)', { concurrency: true }, () => {
  for (const stack of stacks) {
    test(`[${stack.name}] a course that completes, and one that fails, polled at the same time`,
      async (t) => {
        const [done, failed] = await Promise.all([
          pollScenario(stack, 'completed'),
          pollScenario(stack, 'failed'),
        ]);
        for (const { datas, waits } of [done, failed]) {
          t.diagnostic(datas.map((d) => `${d.status}/${d.phase}/${d.progress}`).join(' -> ') +
            ` (ms from each answer to the next poll: ${waits.join(', ')})`);
        }
        assert.equal(done.datas.at(-1).status, 'completed');
        assert.equal(failed.datas.at(-1).status, 'failed');
      });
  }
});
