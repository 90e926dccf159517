/*
 * router.ts - the router *types* of coursegen-status, for tRPC clients.
 *
 * The routers below are declared with @trpc/server and zod only so that TypeScript
 * can infer their types; they are never served (the procedure throws if anything
 * ever calls it). Import the types with `import type`, which the compiler erases:
 *
 *     import type { AppRouter } from '@coursegen/status-client';
 *
 * AppRouter           the service's default configuration (plain JSON).
 * AppRouterSuperjson  the service with TRPC_TRANSFORMER=superjson: clients must then
 *                     give their links `transformer: superjson`, and the compiler
 *                     says so.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type {
  AnyTRPCRouter, TRPCBuiltRouter, TRPCQueryProcedure,
} from '@trpc/server';
import superjson from 'superjson';

import {
  GetStatusInputSchema, GetStatusOutputSchema,
  type GetStatusInput, type GetStatusOutput,
} from './schema.js';

function notServedHere(): never {
  throw new TRPCError({
    code: 'NOT_IMPLEMENTED',
    message: 'generation.getStatus is served by coursegen-status; this router is a type only',
  });
}

const plain = initTRPC.create();
const appRouter = plain.router({
  generation: plain.router({
    getStatus: plain.procedure
      .input(GetStatusInputSchema)
      .output(GetStatusOutputSchema)
      .query(notServedHere),
  }),
});

const sj = initTRPC.create({ transformer: superjson });
const appRouterSuperjson = sj.router({
  generation: sj.router({
    getStatus: sj.procedure
      .input(GetStatusInputSchema)
      .output(GetStatusOutputSchema)
      .query(notServedHere),
  }),
});

/** coursegen-status in its default configuration (TRPC_TRANSFORMER=none). */
export type AppRouter = typeof appRouter;
/** coursegen-status with TRPC_TRANSFORMER=superjson. */
export type AppRouterSuperjson = typeof appRouterSuperjson;

/** The procedure's type, as any router declaring it would have it. */
export type GetStatusProcedure = TRPCQueryProcedure<{
  input: GetStatusInput;
  output: GetStatusOutput;
  meta: object;
}>;

type RecordOf<T> = T extends AnyTRPCRouter ? T['_def']['record'] : T;

/**
 * A front end's own (Node) router type with `generation.getStatus` added, for one
 * tRPC client whose splitLink sends that path to coursegen-status and everything
 * else to the Node server. The Node router keeps its transformer and error shape;
 * any `generation.getStatus` it declared itself is replaced by the service's.
 *
 *     type Api = WithGenerationStatus<PlatformRouter>;
 *     const client = createTRPCClient<Api>({ links: [splitLink({ ... })] });
 */
export type WithGenerationStatus<TRouter extends AnyTRPCRouter> = TRPCBuiltRouter<
  TRouter['_def']['_config']['$types'],
  Omit<TRouter['_def']['record'], 'generation'> & {
    generation: Omit<RecordOf<TRouter['_def']['record']['generation']>, 'getStatus'> & {
      getStatus: GetStatusProcedure;
    };
  }
>;
