/*
 * trpc.ts - the tRPC React hooks typed by AppRouter.
 *
 * createTRPCReact uses tRPC's one shared React context unless given another, so
 * these hooks work under any `<X.Provider client={...}>` of @trpc/react-query: the
 * package's own (below) or a front end's existing one whose client sends
 * generation.getStatus to coursegen-status (a splitLink, see the README).
 */
import { createTRPCReact } from '@trpc/react-query';
import type { CreateTRPCReact } from '@trpc/react-query';

import type { AppRouter } from '../router.js';

export const trpc: CreateTRPCReact<AppRouter, unknown> = createTRPCReact<AppRouter>();
