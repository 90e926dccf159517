/*
 * useGenerationStatus.ts - the contract's hook (section 6.1) on @trpc/react-query and
 * @tanstack/react-query 5.
 *
 * Polls generation.getStatus every 2 s while the status is not terminal and stops
 * at completed, failed and cancelled (no further request, not even on focus or
 * reconnect). Does not poll while the page is hidden (react-query's focus manager
 * follows document.visibilityState); when the page shows again it asks at once and
 * polls on. A client error (4xx: no or expired token, no access, no such course)
 * stops polling too: asking again cannot change it. Server errors are retried.
 *
 * Where the contract's version stops one render late (a useEffect setting state),
 * this one decides in refetchInterval from the answer itself.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { TRPCClientErrorLike } from '@trpc/client';

import type { AppRouter } from '../router.js';
import { isTerminalStatus, type GetStatusOutput } from '../schema.js';
import { trpc } from './trpc.js';

export const POLL_INTERVAL_MS = 2000;

export type GenerationStatusError = TRPCClientErrorLike<AppRouter>;

export interface UseGenerationStatusOptions {
  /** false: no request at all (e.g. no course chosen yet). Default true. */
  enabled?: boolean;
  /** Milliseconds between polls. Default 2000, as the contract says. */
  intervalMs?: number;
  /** Called once when the course is seen `completed`. */
  onComplete?: (status: GetStatusOutput) => void;
  /** Called once when the course is seen `failed` (metadata.error, .retryable). */
  onFailed?: (status: GetStatusOutput) => void;
  /** Called for each call that ends in an error (after retries, for server errors). */
  onError?: (error: GenerationStatusError) => void;
}

export interface UseGenerationStatusResult {
  /** The last answer, undefined before the first. */
  status: GetStatusOutput | undefined;
  /** The last error, null when the last call succeeded. */
  error: GenerationStatusError | null;
  /** True while the hook keeps asking (not terminal, not stopped, no client error). */
  isPolling: boolean;
  refetch: () => void;
  stopPolling: () => void;
  /** Asks at once and polls again until the next terminal status (after a retry). */
  startPolling: () => void;
}

/** A client error (4xx): asking again gives the same answer. */
export function isClientError(error: GenerationStatusError | null | undefined): boolean {
  const http = error?.data?.httpStatus;
  return typeof http === 'number' && http >= 400 && http < 500;
}

export function useGenerationStatus(
  courseId: string,
  options: UseGenerationStatusOptions = {},
): UseGenerationStatusResult {
  const { enabled = true, intervalMs = POLL_INTERVAL_MS } = options;
  const [stopped, setStopped] = useState(false);

  const query = trpc.generation.getStatus.useQuery(
    { courseId },
    {
      enabled,
      refetchInterval: (q) => {
        if (stopped) return false;
        if (isTerminalStatus(q.state.data?.status)) return false;
        if (q.state.status === 'error' && isClientError(q.state.error)) return false;
        return intervalMs;
      },
      // Not while the page is hidden (the default, said here on purpose).
      refetchIntervalInBackground: false,
      // A terminal answer never changes: no refetch on focus, reconnect or mount.
      staleTime: (q) => (isTerminalStatus(q.state.data?.status) ? Infinity : 0),
      retry: (failureCount, error) => !isClientError(error) && failureCount < 3,
    },
  );

  // Callbacks are read through a ref so that new closures each render cause no call.
  const callbacks = useRef(options);
  callbacks.current = options;
  // What was last reported: a status change into completed or failed, and each new
  // error, once (a remount or a re-render reports nothing new).
  const reported = useRef<{ status: string; error: number }>({ status: '', error: 0 });

  const { data, error, errorUpdatedAt } = query;
  useEffect(() => {
    if (!data) return;
    const key = `${courseId}:${data.status}`;
    if (reported.current.status === key) return;
    reported.current.status = key;
    if (data.status === 'completed') callbacks.current.onComplete?.(data);
    if (data.status === 'failed') callbacks.current.onFailed?.(data);
  }, [courseId, data]);
  useEffect(() => {
    if (!error || errorUpdatedAt === reported.current.error) return;
    reported.current.error = errorUpdatedAt;
    callbacks.current.onError?.(error);
  }, [error, errorUpdatedAt]);

  const { refetch } = query;
  const stopPolling = useCallback(() => setStopped(true), []);
  const startPolling = useCallback(() => {
    setStopped(false);
    void refetch();
  }, [refetch]);
  const refetchNow = useCallback(() => {
    void refetch();
  }, [refetch]);

  const isPolling = enabled && !stopped && !isTerminalStatus(data?.status)
    && !(query.status === 'error' && isClientError(error));
  return {
    status: data,
    error: error ?? null,
    isPolling,
    refetch: refetchNow,
    stopPolling,
    startPolling,
  };
}
