/*
 * @coursegen/status-client: the types of coursegen-status's generation.getStatus for
 * tRPC clients, and the zod schemas they come from. React: '@coursegen/status-client/react'.
 */
export {
  GENERATION_PHASES, GENERATION_STATUSES, GenerationMetadataSchema, GetStatusInputSchema,
  GetStatusOutputSchema, TERMINAL_STATUSES, TRPCErrorShapeSchema, TRPC_ERROR_CODE_KEYS,
  isTerminalStatus,
} from './schema.js';
export type {
  GenerationMetadata, GenerationPhase, GenerationStatus, GetStatusInput, GetStatusOutput,
  TRPCErrorShape, TerminalStatus,
} from './schema.js';
export type {
  AppRouter, AppRouterSuperjson, GetStatusProcedure, WithGenerationStatus,
} from './router.js';
