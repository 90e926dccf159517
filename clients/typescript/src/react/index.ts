/*
 * @coursegen/status-client/react: the contract's useGenerationStatus hook and
 * GenerationProgress component, on @trpc/react-query and @tanstack/react-query 5.
 */
export { trpc } from './trpc.js';
export {
  POLL_INTERVAL_MS, isClientError, useGenerationStatus,
} from './useGenerationStatus.js';
export type {
  GenerationStatusError, UseGenerationStatusOptions, UseGenerationStatusResult,
} from './useGenerationStatus.js';
export {
  GenerationProgress, READABLE_ERRORS, readableError, statusDetails,
} from './GenerationProgress.js';
export type { GenerationProgressProps } from './GenerationProgress.js';
