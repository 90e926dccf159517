/*
 * platform-router.ts - stands for a front end's existing Node tRPC router (the
 * platform's own procedures), for examples/split-link.tsx. In a real front end this
 * is `import type { AppRouter } from '../server/router'`.
 */
import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { z } from 'zod';

const t = initTRPC.create({ transformer: superjson });

export const platformRouter = t.router({
  course: t.router({
    list: t.procedure.query(() => [{ id: '123e4567-e89b-12d3-a456-426614174000', title: 'Курс' }]),
  }),
  generation: t.router({
    initiate: t.procedure
      .input(z.object({ courseId: z.string().uuid() }))
      .mutation(({ input }) => ({ courseId: input.courseId, queuedAt: new Date() })),
    // The platform's own getStatus, now served by coursegen-status instead.
    getStatus: t.procedure
      .input(z.object({ courseId: z.string().uuid() }))
      .query(() => ({ legacy: true })),
  }),
});

export type PlatformRouter = typeof platformRouter;
