-- 004-worker-api.sql: the generation worker's writes, as SQL functions in the schema
-- `coursegen`.
--
-- The contract's worker (section 6.2) overwrites generation_metadata with a copy it
-- took when the job started, so anything written meanwhile is lost, and it writes
-- last_phase but never duration_ms, which the contract's own reader uses. Workers
-- (the platform's are Node/BullMQ, any language will do) call these functions instead.
-- Each is one statement to call (`SELECT coursegen.generation_progress(...)`),
-- atomic: it locks the course row, checks the transition, and merges its keys into
-- generation_metadata in a single UPDATE, so concurrent writers never lose each
-- other's keys and a refused call changes nothing.
--
--   coursegen.generation_enqueue(course)                     -> queued
--   coursegen.generation_start(course, total_batches, model) queued -> generating
--   coursegen.generation_progress(course, phase, batches, model, phase_ms, quality)
--                                                            generating -> generating
--   coursegen.generation_complete(course, lessons, sections, cost, quality, duration_ms)
--                                                            generating -> completed
--   coursegen.generation_fail(course, error, retryable)      queued|generating -> failed
--   coursegen.generation_cancel(course)                      queued|generating -> cancelled
--
-- Every call sets courses.updated_at = now() (reported as lastUpdatedAt) and returns
-- the new generation_metadata. Keys written (the ones coursegen-status reads, see
-- README): last_phase and duration_ms.<phase> together, so both signals of the
-- phase (doc/decisions.md, D4) always name the same phase; batch_count,
-- total_batches, model_used {"<phase>": model}, quality_scores.overall,
-- total_lessons, total_sections,
-- cost_usd, duration_ms.total, last_progress, error_message, retryable, and
-- started_at: when generation_start ran, which the service reports as startedAt (it
-- falls back to created_at when the key is absent). The platform's columns other than
-- generation_status, generation_metadata and updated_at are never written (created_at
-- stays the course's creation time). Keys these functions do not know are kept.
-- Bookkeeping keys of their own: attempt, enqueued_at, phase_started_at, finished_at.
--
-- Metadata written by someone else may be malformed ("batch_count": "3 of 8",
-- "attempt": 1.5, a phase_started_at that is no timestamp): such a value counts as
-- absent, it never raises a casting error, so fail and cancel always succeed on a
-- queued or generating course.
--
-- Refused calls raise an error and change nothing:
--   SQLSTATE P0002 (no_data_found)                     no such course
--   SQLSTATE 55000 (object_not_in_prerequisite_state)  impossible transition: wrong
--        status for the call, a phase before the current one, fewer batches than
--        already reported
--   SQLSTATE 22023 (invalid_parameter_value)           an argument out of range
-- with a message naming the course, the call, the current state and the rule.
--
-- Security (PostgreSQL's "Writing SECURITY DEFINER Functions Safely"): the functions
-- are owned by coursegen_owner (001-schema.sql), which may read and update only the
-- courses columns they use (granted below) and has a row-level security policy for
-- that on public.courses; they run with search_path = pg_catalog, pg_temp (pg_temp
-- last, so a temporary table or type cannot shadow anything), and every table and
-- function they name is schema-qualified. EXECUTE is revoked from PUBLIC and from
-- Supabase's API roles in this transaction (coursegen.revoke_api_access()) and
-- granted to the worker role only, in 005-worker-role.sql. Row locks are FOR NO KEY
-- UPDATE, which does not wait for transactions inserting rows that reference the
-- course (a foreign key's FOR KEY SHARE).
--
-- Versions before the schema `coursegen` created these functions in `public`; they
-- are dropped here (a superuser must drop them when another role owns them: the
-- error says so).

\if :{?lock_timeout}
\else
\set lock_timeout '5s'
\endif

BEGIN;
SET LOCAL lock_timeout = :'lock_timeout';

-- The old worker API in public.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'public'::regnamespace
                AND p.proname IN ('generation_phase_rank', 'generation_shown_progress',
                                  'generation__lock', 'generation__refuse',
                                  'generation__close_phase', 'generation_enqueue',
                                  'generation_start', 'generation_progress',
                                  'generation_complete', 'generation_fail',
                                  'generation_cancel') LOOP
        IF NOT pg_catalog.pg_has_role(current_user,
                (SELECT proowner FROM pg_catalog.pg_proc WHERE oid = f), 'USAGE') THEN
            RAISE EXCEPTION 'coursegen: the old worker function % (in public) is owned by another role and must go',
                f USING HINT = pg_catalog.format('A superuser must run: DROP FUNCTION %s;', f);
        END IF;
        EXECUTE pg_catalog.format('DROP FUNCTION %s', f);
    END LOOP;
END
$$;

-- What the functions' owner may do on the table: read the row it locks, update the
-- three columns it writes. Nothing on user_organizations.
GRANT USAGE ON SCHEMA public TO coursegen_owner;
REVOKE ALL ON TABLE public.courses, public.user_organizations FROM coursegen_owner;
GRANT SELECT (id, generation_status, generation_metadata),
      UPDATE (generation_status, generation_metadata, updated_at)
    ON TABLE public.courses TO coursegen_owner;

-- Row-level security on the platform's table: the owner reads and updates any course
-- (the worker role calls the functions by course id).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies WHERE schemaname = 'public'
                      AND tablename = 'courses' AND policyname = 'coursegen_owner_read') THEN
        CREATE POLICY coursegen_owner_read ON public.courses
            AS PERMISSIVE FOR SELECT TO coursegen_owner USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies WHERE schemaname = 'public'
                      AND tablename = 'courses' AND policyname = 'coursegen_owner_update') THEN
        CREATE POLICY coursegen_owner_update ON public.courses
            AS PERMISSIVE FOR UPDATE TO coursegen_owner USING (true) WITH CHECK (true);
    END IF;
END
$$;

SET LOCAL ROLE coursegen_owner;

-- Phase order; NULL for a name that is not a phase.
CREATE OR REPLACE FUNCTION coursegen.generation_phase_rank(p_phase text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_phase WHEN 'metadata' THEN 1 WHEN 'sections' THEN 2
                        WHEN 'validation' THEN 3 WHEN 'saving' THEN 4 END
$$;

-- A metadata value as a number, NULL unless it is a JSON number.
CREATE OR REPLACE FUNCTION coursegen.generation__num(p jsonb)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.jsonb_typeof(p) = 'number' THEN p::numeric END
$$;

-- A metadata value as an integer, NULL unless it is a JSON number with an integer
-- value in range (1.0 counts; 1.5, "3 of 8" and 1e20 do not).
CREATE OR REPLACE FUNCTION coursegen.generation__int(p jsonb)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN n = pg_catalog.trunc(n) AND n BETWEEN -2147483648 AND 2147483647
                THEN n::integer END
      FROM (SELECT coursegen.generation__num(p) AS n) v
$$;

-- A metadata value as a (finite) timestamp, NULL unless it is a string that reads
-- as one.
CREATE OR REPLACE FUNCTION coursegen.generation__ts(p jsonb)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t timestamptz;
BEGIN
    IF pg_catalog.jsonb_typeof(p) IS DISTINCT FROM 'string' THEN
        RETURN NULL;
    END IF;
    BEGIN
        t := (p #>> '{}')::timestamptz;
    EXCEPTION WHEN data_exception THEN
        RETURN NULL;
    END;
    RETURN CASE WHEN pg_catalog.isfinite(t) THEN t END;
END
$$;

-- The progress coursegen-status shows for a generating course with this metadata,
-- rounded as it rounds (doc/decisions.md, D1): metadata 0, sections
-- 10 + 70 * done / total, validation 87.5 -> 88, saving 97.5 -> 98. Used to keep last_progress on failure.
CREATE OR REPLACE FUNCTION coursegen.generation_shown_progress(p_meta jsonb)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_meta->>'last_phase'
        WHEN 'sections' THEN
            round(10 + 70 * LEAST(GREATEST(COALESCE(coursegen.generation__num(p_meta->'batch_count'), 0), 0),
                                   COALESCE(coursegen.generation__num(p_meta->'total_batches'), 8))
                      / NULLIF(COALESCE(coursegen.generation__num(p_meta->'total_batches'), 8), 0))::integer
        WHEN 'validation' THEN 88
        WHEN 'saving' THEN 98
        ELSE 0 END
$$;

-- Lock the course row and return its status; raise P0002 if there is none.
-- (Internal: called by the functions below inside their own statement.)
CREATE OR REPLACE FUNCTION coursegen.generation__lock(p_course uuid, p_call text,
                                                      OUT o_status text, OUT o_meta jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_course IS NULL THEN
        RAISE EXCEPTION '%: course id is NULL', p_call
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.generation_status,
           CASE WHEN pg_catalog.jsonb_typeof(c.generation_metadata) = 'object'
                THEN c.generation_metadata ELSE '{}'::jsonb END
      INTO o_status, o_meta
      FROM public.courses c WHERE c.id = p_course FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: course % not found', p_call, p_course
            USING ERRCODE = 'no_data_found';
    END IF;
END
$$;

-- Raise the error of an impossible transition.
CREATE OR REPLACE FUNCTION coursegen.generation__refuse(p_course uuid, p_call text,
                                                        p_status text, p_rule text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '%: course % is %, %', p_call, p_course,
        COALESCE(p_status, 'idle (NULL)'), p_rule
        USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$;

-- A metadata value as milliseconds: NULL unless a number in 0 .. 2^53 - 1
-- (truncated), so that no value can overflow bigint.
CREATE OR REPLACE FUNCTION coursegen.generation__ms(p jsonb)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN n >= 0 AND n <= 9007199254740991 THEN pg_catalog.trunc(n)::bigint END
      FROM (SELECT coursegen.generation__num(p) AS n) v
$$;

-- duration_ms (always an object) with the running phase's time so far: p_ms, else
-- the ms since phase_started_at, else (no valid phase_started_at) the phase's
-- duration as recorded; at least 1 so that a phase that was entered always counts
-- in doc/decisions.md, D4. Unchanged when last_phase is not a phase.
CREATE OR REPLACE FUNCTION coursegen.generation__close_phase(p_meta jsonb, p_ms bigint)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN coursegen.generation_phase_rank(p_meta->>'last_phase') IS NULL THEN d
           ELSE d || pg_catalog.jsonb_build_object(p_meta->>'last_phase', COALESCE(p_ms,
                         GREATEST(1, CASE WHEN t IS NOT NULL THEN
                                  pg_catalog.floor(pg_catalog.date_part('epoch',
                                      pg_catalog.now() - t) * 1000)::bigint
                             ELSE coursegen.generation__ms(d->(p_meta->>'last_phase')) END)))
           END
      FROM (SELECT CASE WHEN pg_catalog.jsonb_typeof(p_meta->'duration_ms') = 'object'
                        THEN p_meta->'duration_ms' ELSE '{}'::jsonb END AS d,
                   coursegen.generation__ts(p_meta->'phase_started_at') AS t) v
$$;

-- enqueue: NULL/idle/failed/cancelled -> queued. Clears the keys of a previous
-- attempt (progress, durations, results, error, start) and counts the attempt; any
-- other key is kept. Refused while queued or generating (already in the queue) and
-- once completed.
CREATE OR REPLACE FUNCTION coursegen.generation_enqueue(p_course uuid)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; m jsonb;
BEGIN
    SELECT o_status, o_meta INTO st, m
      FROM coursegen.generation__lock(p_course, 'generation_enqueue');
    IF st IS NOT NULL AND st NOT IN ('idle', 'failed', 'cancelled') THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_enqueue', st,
            'only an idle, failed or cancelled course can be queued');
    END IF;
    m := (m - ARRAY['last_phase', 'batch_count', 'total_batches', 'duration_ms',
                    'model_used', 'quality_scores', 'total_lessons', 'total_sections',
                    'cost_usd', 'last_progress', 'error_message', 'retryable',
                    'phase_started_at', 'started_at', 'finished_at', 'cancelled_at'])
         || pg_catalog.jsonb_build_object(
                'attempt', GREATEST(COALESCE(coursegen.generation__int(m->'attempt'), 0), 0) + 1,
                'enqueued_at', pg_catalog.now());
    UPDATE public.courses SET generation_status = 'queued', generation_metadata = m,
                              updated_at = pg_catalog.now()
     WHERE id = p_course;
    RETURN m;
END
$$;

-- start: queued -> generating, phase metadata, 0 of p_total_batches batches,
-- started_at now. p_model (optional) is the metadata phase's model.
CREATE OR REPLACE FUNCTION coursegen.generation_start(p_course uuid, p_total_batches integer,
                                                      p_model text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; m jsonb;
BEGIN
    SELECT o_status, o_meta INTO st, m
      FROM coursegen.generation__lock(p_course, 'generation_start');
    IF st IS DISTINCT FROM 'queued' THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_start', st,
            'only a queued course can start');
    END IF;
    IF p_total_batches IS NULL OR p_total_batches < 1 OR p_total_batches > 1000 THEN
        RAISE EXCEPTION 'generation_start: course %: total_batches must be 1..1000, got %',
            p_course, COALESCE(p_total_batches::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    m := m || pg_catalog.jsonb_build_object('last_phase', 'metadata', 'batch_count', 0,
                                 'total_batches', p_total_batches,
                                 'duration_ms', pg_catalog.jsonb_build_object('metadata', 1),
                                 'started_at', pg_catalog.now(),
                                 'phase_started_at', pg_catalog.now());
    IF p_model IS NOT NULL THEN
        m := m || pg_catalog.jsonb_build_object('model_used',
                      pg_catalog.jsonb_build_object('metadata', p_model));
    END IF;
    UPDATE public.courses SET generation_status = 'generating', generation_metadata = m,
                              updated_at = pg_catalog.now()
     WHERE id = p_course;
    RETURN m;
END
$$;

-- progress: generating only. p_phase is the current phase, the same or a later one
-- than last reported (entering a later phase closes the previous one's duration).
-- p_batches_completed (sections only) never decreases and never exceeds
-- total_batches. p_model is the current phase's model. p_phase_ms, when given, is
-- the time spent in p_phase so far (else it is measured by the database clock).
-- p_quality sets quality_scores.overall (0..1).
CREATE OR REPLACE FUNCTION coursegen.generation_progress(p_course uuid, p_phase text,
                                                         p_batches_completed integer DEFAULT NULL,
                                                         p_model text DEFAULT NULL,
                                                         p_phase_ms bigint DEFAULT NULL,
                                                         p_quality double precision DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; m jsonb; cur integer; nxt integer; done integer; total integer;
    models jsonb;
BEGIN
    SELECT o_status, o_meta INTO st, m
      FROM coursegen.generation__lock(p_course, 'generation_progress');
    IF st IS DISTINCT FROM 'generating' THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_progress', st,
            'progress is recorded only while generating');
    END IF;
    nxt := coursegen.generation_phase_rank(p_phase);
    IF nxt IS NULL THEN
        RAISE EXCEPTION 'generation_progress: course %: unknown phase "%" (metadata, sections, validation or saving)',
            p_course, COALESCE(p_phase, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cur := COALESCE(coursegen.generation_phase_rank(m->>'last_phase'), 1);
    IF nxt < cur THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_progress', st,
            pg_catalog.format('in phase %s: cannot go back to phase %s', m->>'last_phase', p_phase));
    END IF;
    total := coursegen.generation__int(m->'total_batches');
    IF total IS NULL OR total < 1 THEN
        total := 8;
    END IF;
    done := LEAST(GREATEST(COALESCE(coursegen.generation__int(m->'batch_count'), 0), 0), total);
    IF p_batches_completed IS NOT NULL THEN
        IF p_phase <> 'sections' THEN
            RAISE EXCEPTION 'generation_progress: course %: batches are reported in phase sections, not %',
                p_course, p_phase USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF p_batches_completed < 0 OR p_batches_completed > total THEN
            RAISE EXCEPTION 'generation_progress: course %: batches_completed must be 0..% (total_batches), got %',
                p_course, total, p_batches_completed USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF p_batches_completed < done THEN
            PERFORM coursegen.generation__refuse(p_course, 'generation_progress', st,
                pg_catalog.format('%s of %s batches done: cannot go back to %s', done, total,
                                  p_batches_completed));
        END IF;
        done := p_batches_completed;
    END IF;
    IF p_phase_ms IS NOT NULL AND p_phase_ms < 0 THEN
        RAISE EXCEPTION 'generation_progress: course %: phase_ms must be >= 0, got %',
            p_course, p_phase_ms USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_quality IS NOT NULL AND NOT (p_quality >= 0 AND p_quality <= 1) THEN
        RAISE EXCEPTION 'generation_progress: course %: quality must be 0..1, got %',
            p_course, p_quality USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF nxt > cur THEN
        -- Leaving the current phase: its duration is final; the new one starts now.
        m := m || pg_catalog.jsonb_build_object(
                      'duration_ms', coursegen.generation__close_phase(m, NULL),
                      'phase_started_at', pg_catalog.now());
    END IF;
    m := m || pg_catalog.jsonb_build_object('last_phase', p_phase, 'batch_count', done,
                                            'total_batches', total);
    -- The running phase's duration so far (> 0), so that duration_ms agrees with
    -- last_phase (doc/decisions.md, D4).
    m := m || pg_catalog.jsonb_build_object('duration_ms',
                                            coursegen.generation__close_phase(m, p_phase_ms));
    IF p_model IS NOT NULL THEN
        models := CASE WHEN pg_catalog.jsonb_typeof(m->'model_used') = 'object'
                       THEN m->'model_used' ELSE '{}'::jsonb END;
        m := m || pg_catalog.jsonb_build_object('model_used',
                      models || pg_catalog.jsonb_build_object(p_phase, p_model));
    END IF;
    IF p_quality IS NOT NULL THEN
        m := m || pg_catalog.jsonb_build_object('quality_scores',
                 (CASE WHEN pg_catalog.jsonb_typeof(m->'quality_scores') = 'object'
                       THEN m->'quality_scores' ELSE '{}'::jsonb END)
                 || pg_catalog.jsonb_build_object('overall', p_quality));
    END IF;
    UPDATE public.courses SET generation_metadata = m, updated_at = pg_catalog.now()
     WHERE id = p_course;
    RETURN m;
END
$$;

-- complete: generating -> completed. The results (each optional: NULL leaves the key
-- as it is), the final phase's duration, duration_ms.total: p_duration_ms, else the
-- time since started_at (generation_start) by the database clock, else (a generation
-- not started through generation_start) the sum of the phases' durations; left out
-- when there is none of these.
CREATE OR REPLACE FUNCTION coursegen.generation_complete(p_course uuid,
                                                         p_total_lessons integer DEFAULT NULL,
                                                         p_total_sections integer DEFAULT NULL,
                                                         p_cost_usd numeric DEFAULT NULL,
                                                         p_quality double precision DEFAULT NULL,
                                                         p_duration_ms bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; m jsonb; started timestamptz; d jsonb; total bigint;
BEGIN
    SELECT o_status, o_meta INTO st, m
      FROM coursegen.generation__lock(p_course, 'generation_complete');
    IF st IS DISTINCT FROM 'generating' THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_complete', st,
            'only a generating course can complete');
    END IF;
    IF p_total_lessons < 0 OR p_total_sections < 0 OR p_cost_usd < 0 OR p_duration_ms < 0 THEN
        RAISE EXCEPTION 'generation_complete: course %: lessons, sections, cost and duration must be >= 0',
            p_course USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_quality IS NOT NULL AND NOT (p_quality >= 0 AND p_quality <= 1) THEN
        RAISE EXCEPTION 'generation_complete: course %: quality must be 0..1, got %',
            p_course, p_quality USING ERRCODE = 'invalid_parameter_value';
    END IF;
    started := coursegen.generation__ts(m->'started_at');
    d := coursegen.generation__close_phase(m, NULL) - 'total';
    total := COALESCE(p_duration_ms,
        CASE WHEN started IS NOT NULL THEN
            GREATEST(0, pg_catalog.floor(pg_catalog.date_part('epoch',
                                         pg_catalog.now() - started) * 1000))::bigint END,
        (SELECT pg_catalog.sum(coursegen.generation__ms(e.value))
           FROM pg_catalog.jsonb_each(d) e WHERE e.key <> 'total'));
    IF total IS NOT NULL THEN
        d := d || pg_catalog.jsonb_build_object('total', total);
    END IF;
    m := m || pg_catalog.jsonb_build_object('duration_ms', d, 'finished_at', pg_catalog.now());
    m := m - 'phase_started_at';
    IF p_total_lessons IS NOT NULL THEN
        m := m || pg_catalog.jsonb_build_object('total_lessons', p_total_lessons);
    END IF;
    IF p_total_sections IS NOT NULL THEN
        m := m || pg_catalog.jsonb_build_object('total_sections', p_total_sections);
    END IF;
    IF p_cost_usd IS NOT NULL THEN
        m := m || pg_catalog.jsonb_build_object('cost_usd', p_cost_usd);
    END IF;
    IF p_quality IS NOT NULL THEN
        m := m || pg_catalog.jsonb_build_object('quality_scores',
                 (CASE WHEN pg_catalog.jsonb_typeof(m->'quality_scores') = 'object'
                       THEN m->'quality_scores' ELSE '{}'::jsonb END)
                 || pg_catalog.jsonb_build_object('overall', p_quality));
    END IF;
    UPDATE public.courses SET generation_status = 'completed', generation_metadata = m,
                              updated_at = pg_catalog.now()
     WHERE id = p_course;
    RETURN m;
END
$$;

-- fail: queued|generating -> failed. Keeps last_phase, batch_count and the rest;
-- last_progress is the progress the service was showing (so the bar of a failed
-- course stays where it was); error_message and retryable as given.
CREATE OR REPLACE FUNCTION coursegen.generation_fail(p_course uuid, p_error text,
                                                     p_retryable boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; m jsonb;
BEGIN
    SELECT o_status, o_meta INTO st, m
      FROM coursegen.generation__lock(p_course, 'generation_fail');
    IF st IS NULL OR st NOT IN ('queued', 'generating') THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_fail', st,
            'only a queued or generating course can fail');
    END IF;
    IF p_error IS NULL OR p_error = '' THEN
        RAISE EXCEPTION 'generation_fail: course %: an error message is required', p_course
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF st = 'generating' THEN
        m := m || pg_catalog.jsonb_build_object('duration_ms',
                                                coursegen.generation__close_phase(m, NULL));
    END IF;
    m := (m - 'phase_started_at')
         || pg_catalog.jsonb_build_object(
                'last_progress', coursegen.generation_shown_progress(m),
                'error_message', p_error,
                'retryable', COALESCE(p_retryable, false),
                'finished_at', pg_catalog.now());
    UPDATE public.courses SET generation_status = 'failed', generation_metadata = m,
                              updated_at = pg_catalog.now()
     WHERE id = p_course;
    RETURN m;
END
$$;

-- cancel: queued|generating -> cancelled (the rest of the metadata is kept).
CREATE OR REPLACE FUNCTION coursegen.generation_cancel(p_course uuid)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; m jsonb;
BEGIN
    SELECT o_status, o_meta INTO st, m
      FROM coursegen.generation__lock(p_course, 'generation_cancel');
    IF st IS NULL OR st NOT IN ('queued', 'generating') THEN
        PERFORM coursegen.generation__refuse(p_course, 'generation_cancel', st,
            'only a queued or generating course can be cancelled');
    END IF;
    IF st = 'generating' THEN
        m := m || pg_catalog.jsonb_build_object('duration_ms',
                                                coursegen.generation__close_phase(m, NULL));
    END IF;
    m := (m - 'phase_started_at') || pg_catalog.jsonb_build_object('finished_at', pg_catalog.now());
    UPDATE public.courses SET generation_status = 'cancelled', generation_metadata = m,
                              updated_at = pg_catalog.now()
     WHERE id = p_course;
    RETURN m;
END
$$;

RESET ROLE;

-- Nobody but the worker role (005-worker-role.sql) and the owner may call them: not
-- PUBLIC, not Supabase's API roles, whatever default privileges say.
SELECT coursegen.revoke_api_access();

COMMIT;
