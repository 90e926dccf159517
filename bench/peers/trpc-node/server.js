// server.js - the Node peer of the benchmark: generation.getStatus on
// @trpc/server v11 (standalone adapter), zod, node-postgres and jose.
//
// This is what the platform's users would otherwise run: the contract
// implemented the ordinary tRPC way, with the same SQL as the C service
// (src/db.c, db_status_query) as a named prepared statement, a pg.Pool of
// the same size as the C service's worker count, HS256 tokens verified with
// jose, and the same state machine (README "The ETA", doc/decisions.md,
// D1-D17), so that the answers are byte for byte those of the service for
// the benchmark's data (bench/run checks a sample before measuring).
//
// Environment: DATABASE_URL, JWT_SECRET (required); PORT (8090), HOST
// (127.0.0.1), POOL_SIZE (4), JWT_LEEWAY (30).
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { z } from 'zod';
import pg from 'pg';
import { jwtVerify } from 'jose';

const env = process.env;
if (!env.DATABASE_URL || !env.JWT_SECRET) {
  console.error('DATABASE_URL and JWT_SECRET are required');
  process.exit(2);
}
const secret = new TextEncoder().encode(env.JWT_SECRET);
const leeway = Number(env.JWT_LEEWAY ?? 30);
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.POOL_SIZE ?? 4),
  application_name: 'coursegen-status-trpc-peer',
});
pool.on('error', (e) => console.error('pool error:', e.message));

// The service's query, verbatim (src/db.c db_status_query).
const SQL =
  'SELECT c.id::text, c.user_id::text, c.organization_id::text,' +
  ' (c.user_id = $2::uuid OR EXISTS (SELECT 1 FROM user_organizations uo' +
  '   WHERE uo.user_id = $2::uuid' +
  '   AND uo.organization_id = c.organization_id)),' +
  ' c.generation_status::text, c.generation_metadata::text,' +
  ' floor(extract(epoch FROM c.created_at) * 1000)::int8,' +
  ' floor(extract(epoch FROM c.updated_at) * 1000)::int8,' +
  ' floor(extract(epoch FROM now()) * 1000)::int8' +
  ' FROM courses c WHERE c.id = $1::uuid';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PHASES = ['metadata', 'sections', 'validation', 'saving'];
const STATUSES = ['idle', 'queued', 'generating', 'completed', 'failed', 'cancelled'];
const MESSAGES = {
  idle: 'Генерация не начата',
  queued: 'Ожидание в очереди',
  metadata: 'Генерация метаданных курса',
  validation: 'Проверка качества',
  saving: 'Сохранение результатов',
  completed: 'Генерация завершена',
  failed: 'Ошибка генерации',
  cancelled: 'Генерация отменена',
};

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const isSafeInt = (v) => isNum(v) && Number.isSafeInteger(v);
const obj = (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null);
const str = (v) => (typeof v === 'string' ? v : undefined);

function eta(p, e) {
  p = Math.min(Math.max(p, 0), 100);
  e = Math.max(e, 0);
  const rate = Math.max(e / Math.max(p, 10), 1.5 * Math.max(0, (10 - p) / 10));
  return Math.max(0, Math.ceil((100 - p) * rate - 1e-9));
}

function currentPhase(m, dur) {
  let p = 0;
  for (let i = PHASES.length - 1; i >= 0; i--) {
    const d = dur?.[PHASES[i]];
    if (isNum(d) && d > 0) { p = i; break; }
  }
  const lp = PHASES.indexOf(m.last_phase);
  return lp > p ? lp : p;
}

function quality(m) {
  const q = obj(m.quality_scores)?.overall;
  return isNum(q) && q >= 0 && q <= 1 ? q : undefined;
}

function computeState(status, m, elapsedMs) {
  const st = { phase: null, progress: 0, eta: null, metadata: null };
  switch (status) {
    case 'idle':
    case 'queued':
    case 'cancelled':
      st.message = MESSAGES[status];
      return st;
    case 'generating': {
      let total = 8;
      let done = 0;
      const tb = m.total_batches;
      if (isSafeInt(tb) && tb > 0 && tb <= 1000000) total = tb;
      const bc = m.batch_count;
      if (isSafeInt(bc)) done = bc >= total ? total : bc > 0 ? bc : 0;
      const dur = obj(m.duration_ms);
      const ph = currentPhase(m, dur);
      let exact;
      if (ph === 1) {
        const num = 10 * total + 70 * done;
        exact = num / total;
        st.progress = Math.floor((2 * num + total) / (2 * total));
        st.message = `Генерация секций (${Math.floor((100 * done) / total)}% завершено)`;
      } else if (ph === 2) {
        exact = 87.5; st.progress = 88; st.message = MESSAGES.validation;
      } else if (ph === 3) {
        exact = 97.5; st.progress = 98; st.message = MESSAGES.saving;
      } else {
        exact = 0; st.progress = 0; st.message = MESSAGES.metadata;
      }
      st.progress = Math.min(st.progress, 99);
      st.phase = PHASES[ph];
      const md = { batchesCompleted: done, totalBatches: total };
      const mu = m.model_used;
      const model = str(obj(mu)?.[st.phase]) ?? str(mu);
      if (model !== undefined) md.currentModel = model;
      const q = quality(m);
      if (q !== undefined) md.qualityScore = q;
      st.metadata = md;
      st.eta = eta(exact, Math.max(elapsedMs, 0) / 1000);
      return st;
    }
    case 'completed': {
      st.phase = 'saving';
      st.progress = 100;
      st.message = MESSAGES.completed;
      const md = {};
      if (isSafeInt(m.total_lessons)) md.totalLessons = m.total_lessons;
      if (isSafeInt(m.total_sections)) md.totalSections = m.total_sections;
      if (isNum(m.cost_usd)) md.cost = m.cost_usd;
      const d = obj(m.duration_ms)?.total;
      if (isSafeInt(d)) md.duration = d;
      const q = quality(m);
      if (q !== undefined) md.qualityScore = q;
      st.metadata = md;
      return st;
    }
    case 'failed': {
      const lp = PHASES.indexOf(m.last_phase);
      st.phase = lp >= 0 ? PHASES[lp] : null;
      if (isNum(m.last_progress)) {
        const v = m.last_progress;
        st.progress = v <= 0 ? 0 : v >= 99 ? 99 : Math.min(Math.round(v), 99);
      }
      st.message = MESSAGES.failed;
      const md = {};
      if (typeof m.error_message === 'string') md.error = m.error_message;
      md.retryable = m.retryable === true;
      st.metadata = md;
      return st;
    }
    default:
      return undefined;
  }
}

const iso = (ms) => new Date(ms).toISOString();

const t = initTRPC.context().create();

const protectedProcedure = t.procedure.use(async ({ ctx, next }) => {
  const h = ctx.req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  let userId;
  if (m) {
    try {
      const { payload } = await jwtVerify(m[1], secret, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        clockTolerance: leeway,
      });
      const u = payload.user_id ?? payload.sub;
      if (Number.isInteger(payload.exp) && typeof u === 'string' && UUID.test(u))
        userId = u.toLowerCase();
    } catch {
      userId = undefined;
    }
  }
  if (!userId)
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Invalid or missing access token' });
  return next({ ctx: { userId } });
});

const appRouter = t.router({
  generation: t.router({
    getStatus: protectedProcedure
      .input(z.object({ courseId: z.string().uuid() }))
      .query(async ({ input, ctx }) => {
        let res;
        try {
          res = await pool.query({
            name: 'coursegen_status',
            text: SQL,
            values: [input.courseId, ctx.userId],
            rowMode: 'array',
          });
        } catch (e) {
          console.error('database error:', e.message);
          throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
        }
        if (res.rows.length === 0)
          throw new TRPCError({ code: 'NOT_FOUND', message: 'Course not found' });
        const [id, , , allowed, status, metaText, created, updated, now] = res.rows[0];
        if (!allowed)
          throw new TRPCError({ code: 'FORBIDDEN', message: 'You do not have access to this course' });
        const s = status === null ? 'idle' : status;
        const meta = obj(metaText === null ? null : JSON.parse(metaText)) ?? {};
        const st = STATUSES.includes(s) ? computeState(s, meta, Number(now) - Number(created)) : undefined;
        if (!st)
          throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
        return {
          courseId: id,
          status: s,
          phase: st.phase,
          progress: st.progress,
          message: st.message,
          estimatedRemainingSeconds: st.eta,
          startedAt: iso(Number(created)),
          lastUpdatedAt: iso(Number(updated)),
          metadata: st.metadata,
        };
      }),
  }),
});

const server = createHTTPServer({
  router: appRouter,
  basePath: '/trpc/',
  createContext: ({ req }) => ({ req }),
  onError: ({ error }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') console.error(error.message);
  },
});
const port = Number(env.PORT ?? 8090);
server.listen(port, env.HOST ?? '127.0.0.1');
console.error(`trpc peer listening on ${env.HOST ?? '127.0.0.1'}:${port}`);
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => { server.close(); pool.end().finally(() => process.exit(0)); });
