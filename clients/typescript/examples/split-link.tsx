/*
 * split-link.tsx - a front end with its own Node tRPC router (PlatformRouter) mounts
 * coursegen-status next to it: one typed client, one Provider; a splitLink sends
 * generation.getStatus to coursegen-status and everything else to Node.
 *
 * Both servers must speak the same transformer. This platform uses superjson, so
 * coursegen-status runs with TRPC_TRANSFORMER=superjson; with a plain platform
 * router leave it at none and drop `transformer` from both links.
 */
import { useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { httpBatchLink, splitLink } from '@trpc/client';
import { createTRPCReact } from '@trpc/react-query';
import superjson from 'superjson';

import type { WithGenerationStatus } from '@coursegen/status-client';
import { GenerationProgress, useGenerationStatus } from '@coursegen/status-client/react';

import type { PlatformRouter } from './platform-router';

/** The platform's procedures plus generation.getStatus from coursegen-status. */
export type Api = WithGenerationStatus<PlatformRouter>;
export const api = createTRPCReact<Api>();

function bearer(getToken: () => string | null) {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export function createApiClient(getToken: () => string | null) {
  return api.createClient({
    links: [
      splitLink({
        condition: (op) => op.path === 'generation.getStatus',
        // nginx in front of coursegen-status (the shipped location /trpc/)
        true: httpBatchLink({
          url: '/trpc',
          transformer: superjson,
          headers: () => bearer(getToken),
        }),
        false: httpBatchLink({
          url: '/api/trpc',
          transformer: superjson,
          headers: () => bearer(getToken),
        }),
      }),
    ],
  });
}

export function ApiProvider(props: { getToken: () => string | null; children: ReactNode }) {
  const [queryClient] = useState(() => new QueryClient());
  const [client] = useState(() => createApiClient(props.getToken));
  return (
    <api.Provider client={client} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>{props.children}</QueryClientProvider>
    </api.Provider>
  );
}

/** A course page: the package's component (its hook reads the same Provider) and
 *  the platform's mutation for the retry button. */
export function CoursePage({ courseId }: { courseId: string }) {
  const initiate = api.generation.initiate.useMutation();
  const courses = api.course.list.useQuery();
  // The same query through the combined client, typed from coursegen-status:
  const direct = api.generation.getStatus.useQuery({ courseId });
  const eta: number | null | undefined = direct.data?.estimatedRemainingSeconds;
  const { status } = useGenerationStatus(courseId);
  return (
    <main>
      <h1>{courses.data?.find((c) => c.id === courseId)?.title ?? courseId}</h1>
      <GenerationProgress
        courseId={courseId}
        onRetry={(id) => initiate.mutateAsync({ courseId: id })}
        onComplete={(s) => console.log('done in', s.metadata?.duration, 'ms')}
      />
      {status?.status === 'generating' && eta !== null && <small>{eta} s</small>}
    </main>
  );
}
