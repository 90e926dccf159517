/*
 * schema.ts - generation.getStatus's input and output (the contract, section 2 and 5)
 * in zod, as coursegen-status answers them.
 *
 * The output object is strict: a field the service sent that is not declared here
 * is an error when an answer is parsed (the package's tests parse every answer of
 * the end-to-end suite with it). Optional metadata fields are optional, never
 * nullable: the service leaves out what the row lacks (it never writes null there).
 * A tRPC server validating with this schema would strip nothing and reject extras,
 * which is what a type-checked client wants to know about.
 */
import { z } from 'zod';

export const GENERATION_STATUSES = [
  'idle', 'queued', 'generating', 'completed', 'failed', 'cancelled',
] as const;
export const GENERATION_PHASES = ['metadata', 'sections', 'validation', 'saving'] as const;
/** The statuses after which polling stops: nothing changes any more. */
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const;

export const GetStatusInputSchema = z.object({
  courseId: z.string().uuid().describe('Course UUID to check status for'),
});

export const GenerationMetadataSchema = z.object({
  // During generation
  batchesCompleted: z.number().int().optional(),
  totalBatches: z.number().int().optional(),
  currentModel: z.string().optional(),
  qualityScore: z.number().min(0).max(1).optional(),
  // After completion
  totalLessons: z.number().int().optional(),
  totalSections: z.number().int().optional(),
  cost: z.number().optional(),
  duration: z.number().int().optional(),
  // On failure
  error: z.string().optional(),
  retryable: z.boolean().optional(),
}).strict();

export const GetStatusOutputSchema = z.object({
  courseId: z.string().uuid(),
  status: z.enum(GENERATION_STATUSES).describe('Overall generation status'),
  phase: z.enum(GENERATION_PHASES).nullable().describe('Current phase (null if not generating)'),
  progress: z.number().int().min(0).max(100).describe('Progress percentage (0-100)'),
  message: z.string().describe('User-friendly status message in Russian'),
  estimatedRemainingSeconds: z.number().int().min(0).nullable()
    .describe('Estimated time remaining (null if not generating)'),
  startedAt: z.string().datetime().describe('ISO 8601 timestamp when generation started'),
  lastUpdatedAt: z.string().datetime().describe('ISO 8601 timestamp of last status update'),
  metadata: GenerationMetadataSchema.nullable(),
}).strict();

export type GetStatusInput = z.infer<typeof GetStatusInputSchema>;
export type GetStatusOutput = z.infer<typeof GetStatusOutputSchema>;
export type GenerationMetadata = z.infer<typeof GenerationMetadataSchema>;
export type GenerationStatus = GetStatusOutput['status'];
export type GenerationPhase = NonNullable<GetStatusOutput['phase']>;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminalStatus(status: GenerationStatus | undefined | null):
  status is TerminalStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/*
 * The error a call ends with, as tRPC's default error formatter shapes it and the
 * service sends it (`{"error": <this>}`): no stack, `path` only on errors of a call.
 * Also what nginx's own error pages (502, 504, 413, ...) say in the shipped config.
 */
export const TRPC_ERROR_CODE_KEYS = [
  'PARSE_ERROR', 'BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND',
  'METHOD_NOT_SUPPORTED', 'TIMEOUT', 'CONFLICT', 'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'UNPROCESSABLE_CONTENT',
  'TOO_MANY_REQUESTS', 'CLIENT_CLOSED_REQUEST', 'INTERNAL_SERVER_ERROR',
  'NOT_IMPLEMENTED', 'BAD_GATEWAY', 'SERVICE_UNAVAILABLE', 'GATEWAY_TIMEOUT',
] as const;

export const TRPCErrorShapeSchema = z.object({
  message: z.string(),
  code: z.number().int(),
  data: z.object({
    code: z.enum(TRPC_ERROR_CODE_KEYS),
    httpStatus: z.number().int().min(400).max(599),
    path: z.string().optional(),
  }).strict(),
}).strict();
export type TRPCErrorShape = z.infer<typeof TRPCErrorShapeSchema>;
