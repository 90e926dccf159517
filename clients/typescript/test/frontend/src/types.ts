/*
 * types.ts - the client's types are exactly the contract's (section 2 and 5). The
 * contract's output type is written out here by hand; the package's inferred
 * types must equal it both ways (not merely be assignable), so a field made
 * nullable instead of optional, or a field added or lost, breaks this file.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

import type {
  AppRouter, AppRouterSuperjson, GenerationMetadata, GetStatusInput, GetStatusOutput,
} from '@coursegen/status-client';

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function assertType<T extends true>(_: T) {}

interface ContractInput {
  courseId: string;
}
interface ContractOutput {
  courseId: string;
  status: 'idle' | 'queued' | 'generating' | 'completed' | 'failed' | 'cancelled';
  phase: 'metadata' | 'sections' | 'validation' | 'saving' | null;
  progress: number;
  message: string;
  estimatedRemainingSeconds: number | null;
  startedAt: string;
  lastUpdatedAt: string;
  metadata: {
    batchesCompleted?: number | undefined;
    totalBatches?: number | undefined;
    currentModel?: string | undefined;
    qualityScore?: number | undefined;
    totalLessons?: number | undefined;
    totalSections?: number | undefined;
    cost?: number | undefined;
    duration?: number | undefined;
    error?: string | undefined;
    retryable?: boolean | undefined;
  } | null;
}

type Out = inferRouterOutputs<AppRouter>['generation']['getStatus'];
type In = inferRouterInputs<AppRouter>['generation']['getStatus'];
type OutSj = inferRouterOutputs<AppRouterSuperjson>['generation']['getStatus'];
type InSj = inferRouterInputs<AppRouterSuperjson>['generation']['getStatus'];

assertType<Equals<Out, ContractOutput>>(true);
assertType<Equals<In, ContractInput>>(true);
assertType<Equals<OutSj, ContractOutput>>(true);
assertType<Equals<InSj, ContractInput>>(true);
assertType<Equals<GetStatusOutput, ContractOutput>>(true);
assertType<Equals<GetStatusInput, ContractInput>>(true);
assertType<Equals<GenerationMetadata, NonNullable<ContractOutput['metadata']>>>(true);
// And the checks above can fail: a nullable field is not an optional one.
// @ts-expect-error: the helper must reject a type that differs
assertType<Equals<Out['metadata'], { qualityScore?: number | null } | null>>(true);
export {};
