-- 002-indexes.sql: the one index the service needs, built without blocking writes.
--
-- NOT one transaction, unlike the other files: CREATE/DROP INDEX CONCURRENTLY cannot
-- run inside one. Each step below is guarded (psql \if on a catalog check made just
-- before it), so re-applying does nothing once the indexes are as wanted. Measured
-- (README, "Indexes"):
--
-- * The status query (src/db.c) finds the course by courses' primary key and tests
--   membership with user_organizations (user_id, organization_id). On a platform
--   whose user_organizations has a surrogate primary key and no index on those
--   columns, that test was a sequential scan per call. An index is built here
--   unless a valid, non-partial index already leads with those two columns (in
--   either order); the empty-database schema's primary key is one.
-- * The worker API locks and updates one course by its primary key: no other index.
-- * The contract's section 8.2 indexes (idx_courses_generation_status,
--   idx_active_generations) are used by no plan of the service or the worker API
--   (idx_scan 0), and the first, which includes updated_at, made every worker update
--   a non-HOT one (more buffers and WAL per call). Older versions of this file
--   created them: they are dropped, but only when their definition is exactly the
--   one those versions created (an index of the platform's with the same name is
--   left alone).
--
-- CONCURRENTLY takes no lock that blocks reads or writes, but it waits for the
-- transactions already running (on the table, and any holding an old snapshot).
-- lock_timeout (default 5s, psql -v lock_timeout=...) bounds that wait: behind a
-- long transaction the build gives up with "canceling statement due to lock
-- timeout", leaving an INVALID index that the next apply drops and builds again.
-- Writes go on the whole time.

\if :{?lock_timeout}
\else
\set lock_timeout '5s'
\endif
SET lock_timeout = :'lock_timeout';
SET statement_timeout = 0;

-- A previous build that gave up left an invalid index: drop it to build it again.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                WHERE x.indexrelid = pg_catalog.to_regclass('public.coursegen_user_organizations_member_idx')
                  AND NOT x.indisvalid) AS coursegen_drop_invalid \gset
\if :coursegen_drop_invalid
\echo 002-indexes: dropping the invalid index public.coursegen_user_organizations_member_idx left by an interrupted build
DROP INDEX CONCURRENTLY IF EXISTS public.coursegen_user_organizations_member_idx;
\endif

-- The membership index, unless one that serves the query exists.
SELECT NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_index x
     WHERE x.indrelid = 'public.user_organizations'::regclass
       AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL
       AND x.indnkeyatts >= 2
       AND ARRAY[x.indkey[0], x.indkey[1]]::int2[] <@ ARRAY(
             SELECT attnum FROM pg_catalog.pg_attribute
              WHERE attrelid = 'public.user_organizations'::regclass
                AND attname IN ('user_id', 'organization_id'))
       AND x.indkey[0] <> x.indkey[1]) AS coursegen_build_member \gset
\if :coursegen_build_member
\echo 002-indexes: building public.coursegen_user_organizations_member_idx CONCURRENTLY (writes go on; gives up after lock_timeout if a transaction stays open: apply again then)
CREATE INDEX CONCURRENTLY IF NOT EXISTS coursegen_user_organizations_member_idx
    ON public.user_organizations (user_id, organization_id);
\endif

-- The section 8.2 indexes of older versions, by their exact definitions.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_indexes
                WHERE schemaname = 'public' AND indexname = 'idx_courses_generation_status'
                  AND indexdef = 'CREATE INDEX idx_courses_generation_status ON public.courses USING btree (id, generation_status, updated_at) WHERE (generation_status = ANY (ARRAY[''queued''::text, ''generating''::text]))')
    AS coursegen_drop_status_idx \gset
\if :coursegen_drop_status_idx
\echo 002-indexes: dropping idx_courses_generation_status CONCURRENTLY (unused; prevented HOT updates)
DROP INDEX CONCURRENTLY IF EXISTS public.idx_courses_generation_status;
\endif
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_indexes
                WHERE schemaname = 'public' AND indexname = 'idx_active_generations'
                  AND indexdef = 'CREATE INDEX idx_active_generations ON public.courses USING btree (user_id, generation_status) WHERE (generation_status = ANY (ARRAY[''queued''::text, ''generating''::text]))')
    AS coursegen_drop_active_idx \gset
\if :coursegen_drop_active_idx
\echo 002-indexes: dropping idx_active_generations CONCURRENTLY (unused)
DROP INDEX CONCURRENTLY IF EXISTS public.idx_active_generations;
\endif

-- Whatever happened above, the service's membership test has its index now, or the
-- file fails saying why (e.g. an index of that name with another definition).
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index x
         WHERE x.indrelid = 'public.user_organizations'::regclass
           AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL
           AND x.indnkeyatts >= 2
           AND ARRAY[x.indkey[0], x.indkey[1]]::int2[] <@ ARRAY(
                 SELECT attnum FROM pg_catalog.pg_attribute
                  WHERE attrelid = 'public.user_organizations'::regclass
                    AND attname IN ('user_id', 'organization_id'))
           AND x.indkey[0] <> x.indkey[1]) THEN
        RAISE EXCEPTION 'coursegen: public.user_organizations has no valid index on (user_id, organization_id)'
            USING HINT = 'An index named coursegen_user_organizations_member_idx with another definition exists? Drop or rename it and apply sql/ again.';
    END IF;
END
$$;

RESET lock_timeout;
RESET statement_timeout;
