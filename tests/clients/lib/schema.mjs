// The contract's schemas (generation.getStatus.tRPC.md, sections 2 and 5), in zod 3,
// as the platform's router declares them. Every successful answer a client test gets
// is parsed with GetStatusOutputSchema.
//
// One deliberate tightening: both objects are .strict(), so a field the contract does
// not define also fails (the contract's z.object would strip it silently; the
// service's README promises exactly the contract's fields).

import { z } from 'zod';

export const GetStatusInputSchema = z.object({
  courseId: z.string().uuid()
    .describe('Course UUID to check status for'),
});

export const GetStatusOutputSchema = z.object({
  courseId: z.string().uuid(),

  status: z.enum(['idle', 'queued', 'generating', 'completed', 'failed', 'cancelled'])
    .describe('Overall generation status'),

  phase: z.enum(['metadata', 'sections', 'validation', 'saving']).nullable()
    .describe('Current phase (null if not generating)'),

  progress: z.number().int().min(0).max(100)
    .describe('Progress percentage (0-100)'),

  message: z.string()
    .describe('User-friendly status message in Russian'),

  estimatedRemainingSeconds: z.number().int().min(0).nullable()
    .describe('Estimated time remaining (null if not generating)'),

  startedAt: z.string().datetime()
    .describe('ISO 8601 timestamp when generation started'),

  lastUpdatedAt: z.string().datetime()
    .describe('ISO 8601 timestamp of last status update'),

  metadata: z.object({
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
  }).strict().nullable(),
}).strict();

export const TERMINAL = ['completed', 'failed', 'cancelled'];
