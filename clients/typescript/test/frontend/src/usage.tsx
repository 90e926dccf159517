/*
 * usage.tsx - what a front end writes, compiled with `tsc --noEmit`: the vanilla
 * client (plain and superjson), the hook and the component; and, marked
 * @ts-expect-error, what must not compile. tsc fails on an @ts-expect-error line
 * that compiles, so a type more permissive than the contract breaks the build.
 */
import { useState } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';

import type { AppRouter, AppRouterSuperjson, GenerationMetadata } from '@coursegen/status-client';
import { GetStatusOutputSchema, isTerminalStatus } from '@coursegen/status-client';
import {
  GenerationProgress, trpc, useGenerationStatus, type GenerationStatusError,
} from '@coursegen/status-client/react';

const courseId = '123e4567-e89b-12d3-a456-426614174000';

// ---- the vanilla client

const client = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: '/trpc', headers: { Authorization: 'Bearer x' } })],
});

export async function vanilla(): Promise<number> {
  const s = await client.generation.getStatus.query({ courseId });
  const phase: 'metadata' | 'sections' | 'validation' | 'saving' | null = s.phase;
  const eta: number | null = s.estimatedRemainingSeconds;
  const minutes = eta === null ? 0 : Math.ceil(eta / 60);
  const batches: number | undefined = s.metadata?.batchesCompleted;
  const retryable = s.status === 'failed' && s.metadata?.retryable === true;
  if (isTerminalStatus(s.status)) {
    const t: 'completed' | 'failed' | 'cancelled' = s.status;
    void t;
  }
  // zod at run time gives the same type
  const parsed = GetStatusOutputSchema.parse(JSON.parse('{}'));
  void [phase, batches, retryable, parsed.progress];
  return minutes + s.progress;
}

// @ts-expect-error: wrong input field (courseID for courseId)
void client.generation.getStatus.query({ courseID: courseId });
// @ts-expect-error: courseId missing
void client.generation.getStatus.query({});
// @ts-expect-error: an extra input field is not in the input type
void client.generation.getStatus.query({ courseId, userId: courseId });
// @ts-expect-error: courseId is a string
void client.generation.getStatus.query({ courseId: 42 });
// @ts-expect-error: getStatus is a query, not a mutation
void client.generation.getStatus.mutate({ courseId });
// @ts-expect-error: the service has no other procedure
void client.generation.initiate.mutate({ courseId });

export async function negatives() {
  const s = await client.generation.getStatus.query({ courseId });
  // @ts-expect-error: reading a field the output does not have
  void s.title;
  // @ts-expect-error: completion totals live in metadata, not at the top level
  void s.totalLessons;
  // @ts-expect-error: nor a field the metadata does not have
  void s.metadata?.lessonsCompleted;
  // @ts-expect-error: estimatedRemainingSeconds is nullable (null unless generating)
  const eta: number = s.estimatedRemainingSeconds;
  // @ts-expect-error: estimatedRemainingSeconds is nullable
  void s.estimatedRemainingSeconds.toFixed(0);
  // @ts-expect-error: metadata is nullable (idle, queued, cancelled)
  void s.metadata.qualityScore;
  // @ts-expect-error: phase is nullable
  void s.phase.toUpperCase();
  // @ts-expect-error: status is a closed set
  if (s.status === 'running') void 0;
  // @ts-expect-error: an optional field is optional, not nullable (the service never sends null)
  const md: GenerationMetadata = { batchesCompleted: null };
  // @ts-expect-error: qualityScore is optional: possibly undefined
  const q: number = s.metadata?.qualityScore;
  void [eta, md, q];
}

// ---- superjson: the client must say so (TRPC_TRANSFORMER=superjson)

export const sjClient = createTRPCClient<AppRouterSuperjson>({
  links: [httpLink({ url: '/trpc', transformer: superjson })],
});
export async function superjsonOutput(): Promise<number | null> {
  return (await sjClient.generation.getStatus.query({ courseId })).estimatedRemainingSeconds;
}
createTRPCClient<AppRouterSuperjson>({
  // @ts-expect-error: a superjson service needs a link with the superjson transformer
  links: [httpLink({ url: '/trpc' })],
});
createTRPCClient<AppRouter>({
  // @ts-expect-error: and a plain one must not be given a transformer
  links: [httpLink({ url: '/trpc', transformer: superjson })],
});

// ---- React: the hook and the component

export function Progress({ id }: { id: string }) {
  const { status, isPolling, error, stopPolling, startPolling } = useGenerationStatus(id, {
    onComplete: (s) => console.log(s.metadata?.totalLessons, s.progress),
    onFailed: (s) => console.log(s.metadata?.error, s.metadata?.retryable),
    onError: (e: GenerationStatusError) => console.log(e.data?.code, e.data?.httpStatus),
  });
  if (error) return <p>{error.message}</p>;
  if (!status) return <p>Загрузка...</p>;
  // @ts-expect-error: status is undefined until the first answer; narrowed above, but
  // not the ETA
  const eta: number = status.estimatedRemainingSeconds;
  void eta;
  return (
    <div onClick={isPolling ? stopPolling : startPolling}>
      {status.progress}% {status.estimatedRemainingSeconds ?? '–'}
    </div>
  );
}

export function BeforeTheFirstAnswer({ id }: { id: string }) {
  const { status } = useGenerationStatus(id);
  // @ts-expect-error: status is undefined before the first answer
  return <p>{status.progress}</p>;
}

// @ts-expect-error: courseId is required
export const noCourse = <GenerationProgress />;
// @ts-expect-error: the callbacks take the contract's output
export const badCallback = <GenerationProgress courseId={courseId} onComplete={(s: { title: string }) => s} />;

export function App({ token }: { token: string }) {
  const [queryClient] = useState(() => new QueryClient());
  const [trpcClient] = useState(() => trpc.createClient({
    links: [httpBatchLink({ url: '/trpc', headers: () => ({ Authorization: `Bearer ${token}` }) })],
  }));
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <GenerationProgress courseId={courseId} onRetry={(id) => console.log('retry', id)}
          onError={(e) => { if (e instanceof TRPCClientError) console.log(e.shape); }} />
        <Progress id={courseId} />
      </QueryClientProvider>
    </trpc.Provider>
  );
}
