/*
 * app.tsx - the sample front end the browser test runs (bundled with esbuild):
 * GenerationProgress for each `?course=UUID`, with its hook's callbacks recorded,
 * against the real service through nginx. The token comes in the URL fragment.
 *
 *   ?course=A&course=B   one GenerationProgress each
 *   &canary=C            a plain useQuery polling C every 2 s even while the page
 *                        is hidden: the test's clock for "no request meanwhile"
 *   &trpc=/trpc          the API base
 *
 * window.__test: { events: [{type, courseId, ...}], history: {courseId: [{status,
 * progress}]} } - every change of each card's data-status / data-progress, seen
 * by a MutationObserver, so the test reads all renders, not samples.
 */
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { httpBatchLink } from '@trpc/client';

import { GenerationProgress, trpc } from '@coursegen/status-client/react';

type Event = { type: string; courseId: string; [k: string]: unknown };
type Snapshot = { status: string; progress: number | null; polling: string };
declare global {
  interface Window {
    __test: { events: Event[]; history: Record<string, Snapshot[]>; canaryAnswers: number };
  }
}

const params = new URLSearchParams(location.search);
const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
const base = (params.get('trpc') ?? '/trpc').replace(/\/+$/, '');
const token = hash.get('token') ?? '';
const courses = params.getAll('course');
const canary = params.get('canary');

window.__test = { events: [], history: {}, canaryAnswers: 0 };
const record = (e: Event) => window.__test.events.push(e);

function Canary({ courseId }: { courseId: string }) {
  const q = trpc.generation.getStatus.useQuery({ courseId }, {
    refetchInterval: 2000,
    refetchIntervalInBackground: true,
  });
  return <p className="canary" data-updated={q.dataUpdatedAt}>{q.data?.status}</p>;
}

function App() {
  const [queryClient] = useState(() => new QueryClient());
  const [client] = useState(() => trpc.createClient({
    links: [httpBatchLink({
      url: base,
      headers: () => ({
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        'Accept-Language': 'ru',
      }),
    })],
  }));
  return (
    <trpc.Provider client={client} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        {courses.map((c) => (
          <GenerationProgress
            key={c}
            courseId={c}
            onComplete={(s) => record({ type: 'complete', courseId: c, progress: s.progress })}
            onFailed={(s) => record({
              type: 'failed', courseId: c, retryable: s.metadata?.retryable ?? null,
            })}
            onError={(e) => record({
              type: 'error', courseId: c, code: e.data?.code ?? null,
              httpStatus: e.data?.httpStatus ?? null,
            })}
            onRetry={(id) => { record({ type: 'retry', courseId: id }); }}
          />
        ))}
        {canary && <Canary courseId={canary} />}
      </QueryClientProvider>
    </trpc.Provider>
  );
}

function snapshot(el: HTMLElement): Snapshot {
  const p = el.dataset.progress;
  return {
    status: el.dataset.status ?? '',
    progress: p === undefined ? null : Number(p),
    polling: el.dataset.polling ?? '',
  };
}

const root = document.getElementById('root')!;
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const el = m.target instanceof HTMLElement ? m.target : null;
    if (el?.classList.contains('generation-progress') && el.dataset.course) {
      const h = (window.__test.history[el.dataset.course] ??= []);
      const s = snapshot(el);
      const last = h[h.length - 1];
      if (!last || last.status !== s.status || last.progress !== s.progress
        || last.polling !== s.polling) h.push(s);
    }
  }
}).observe(root, {
  subtree: true, childList: true, attributes: true,
  attributeFilter: ['data-status', 'data-progress', 'data-polling'],
});
createRoot(root).render(<StrictMode><App /></StrictMode>);
