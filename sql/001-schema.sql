-- 001-schema.sql: the two tables coursegen-status reads, checked or created, and the
-- project's own schema `coursegen` with its owner role `coursegen_owner`.
--
-- Applied with psql, as the database's owner (a role with CREATEROLE; a superuser is
-- not needed: Supabase's `postgres` will do), every sql/0*.sql in file-name order:
--   for f in sql/0*.sql; do psql -X -v ON_ERROR_STOP=1 -f "$f" "$DATABASE_URL" || break; done
-- Each file but 002-indexes.sql is one transaction (BEGIN ... COMMIT below): it applies
-- whole or not at all, and a re-apply under load never shows a half-applied state.
-- Every file is idempotent: applying the directory twice changes nothing the second
-- time. Waits for locks are bounded by lock_timeout (psql -v lock_timeout=2s to
-- change the default 5s): a file that cannot get a lock gives up with "canceling
-- statement due to lock timeout" instead of queueing the platform's writes behind it;
-- apply it again later.
--
-- On the platform's own database the tables already exist (with more columns,
-- row-level security, a surrogate key, comments, ...). They are then only CHECKED:
-- the columns the service and the worker API use must exist with the right types and
-- courses.id must be unique, else the file stops with a message naming every problem
-- and nothing is applied. Existing tables, their columns, defaults and comments are
-- never changed. On an empty database (tests, ./run) the tables are created.
--
-- The schema `coursegen` holds the project's functions (the worker API of
-- 004-worker-api.sql, the change-notification triggers' functions). It is not
-- `public`, so PostgREST (which exposes `public`) does not publish them, and it is
-- owned by the NOLOGIN role `coursegen_owner`, which owns those functions and holds
-- only the table privileges they need (granted in 004): the SECURITY DEFINER
-- functions run as it, never as the role that applied the scripts. The applying role
-- becomes a member of coursegen_owner (to create objects as it).
-- coursegen.revoke_api_access() (below) is the lock-down every file that creates
-- functions in `coursegen` calls in the same transaction.

\if :{?lock_timeout}
\else
\set lock_timeout '5s'
\endif

BEGIN;
SET LOCAL lock_timeout = :'lock_timeout';

-- Only a role that may create roles can apply sql/ (the roles of 003-005).
DO $$
BEGIN
    IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles
             WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'sql/ must be applied by the database owner with CREATEROLE (or a superuser), not by %',
            current_user;
    END IF;
END
$$;

-- The tables, created only when missing, with their comments (an existing table's
-- comments are the platform's and stay as they are).
DO $$
BEGIN
    IF pg_catalog.to_regclass('public.courses') IS NULL THEN
        CREATE TABLE public.courses (
            -- Course id; the tRPC input `courseId` is looked up by this primary key.
            id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
            -- Owner of the course (auth.uid() in the contract); the owner always has
            -- access.
            user_id             uuid        NOT NULL,
            -- Organization the course belongs to, if any; members of that
            -- organization (user_organizations) have access too.
            organization_id     uuid        NULL,
            -- Course title and publication status; not read by the service.
            title               text        NOT NULL DEFAULT '',
            status              text        NOT NULL DEFAULT 'draft',
            -- Generation state machine: NULL (never sent to generation, reported as
            -- idle), 'idle', 'queued', 'generating', 'completed', 'failed',
            -- 'cancelled'. Deliberately no CHECK constraint: a value the service does
            -- not know must reach it, so it is reported (500) and logged.
            generation_status   text        NULL,
            -- Free-form JSON written by the generation worker (keys: see
            -- 004-worker-api.sql and README, "Generation metadata").
            generation_metadata jsonb       NULL,
            -- When the course was created: startedAt when the metadata has no
            -- started_at (a generation started outside the worker API).
            created_at          timestamptz NOT NULL DEFAULT now(),
            -- Last write by the worker (reported as lastUpdatedAt).
            updated_at          timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE public.courses IS
            'Courses; coursegen-status reads generation_status/generation_metadata by id.';
        COMMENT ON COLUMN public.courses.generation_status IS
            'NULL|idle|queued|generating|completed|failed|cancelled; no CHECK on purpose.';
        COMMENT ON COLUMN public.courses.generation_metadata IS
            'Worker-written JSON: last_phase, batch_count, total_batches, duration_ms, model_used, quality_scores, started_at, ...';
    END IF;
    IF pg_catalog.to_regclass('public.user_organizations') IS NULL THEN
        -- Organization membership; a member of a course's organization may read its
        -- status. Any role inside the organization grants read access.
        CREATE TABLE public.user_organizations (
            user_id         uuid        NOT NULL,
            organization_id uuid        NOT NULL,
            role            text        NOT NULL DEFAULT 'member',
            created_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, organization_id)
        );
        COMMENT ON TABLE public.user_organizations IS
            'Organization membership; grants access to the organization''s courses.';
    END IF;
END
$$;

-- The existing tables, checked: every column the service's query (src/db.c) and the
-- worker API use, with its type, and a unique index on courses.id. Everything wrong
-- is listed in one message.
DO $$
DECLARE
    want text[][] := ARRAY[
        ['courses', 'id', 'uuid'],
        ['courses', 'user_id', 'uuid'],
        ['courses', 'organization_id', 'uuid'],
        ['courses', 'generation_status', 'text'],
        ['courses', 'generation_metadata', 'jsonb'],
        ['courses', 'created_at', 'timestamp with time zone'],
        ['courses', 'updated_at', 'timestamp with time zone'],
        ['user_organizations', 'user_id', 'uuid'],
        ['user_organizations', 'organization_id', 'uuid']];
    problems text := '';
    have text;
    i integer;
BEGIN
    FOR i IN 1 .. pg_catalog.array_length(want, 1) LOOP
        SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO have
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = pg_catalog.to_regclass('public.' || want[i][1])
           AND a.attname = want[i][2] AND a.attnum > 0 AND NOT a.attisdropped;
        IF have IS NULL THEN
            problems := problems || pg_catalog.format(E'\n  public.%s.%s is missing (%s expected)',
                                                      want[i][1], want[i][2], want[i][3]);
        ELSIF have <> want[i][3]
              AND NOT (want[i][3] = 'text' AND have LIKE 'character varying%') THEN
            problems := problems || pg_catalog.format(E'\n  public.%s.%s is %s, %s expected',
                                                      want[i][1], want[i][2], have, want[i][3]);
        END IF;
    END LOOP;
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index x
         WHERE x.indrelid = 'public.courses'::regclass AND x.indisunique AND x.indisvalid
           AND x.indpred IS NULL AND x.indnkeyatts = 1
           AND x.indkey[0] = (SELECT attnum FROM pg_catalog.pg_attribute
                               WHERE attrelid = 'public.courses'::regclass AND attname = 'id'))
    THEN
        problems := problems || E'\n  public.courses has no primary key or unique index on (id)';
    END IF;
    IF problems <> '' THEN
        RAISE EXCEPTION 'coursegen: the existing tables do not fit the service:%', problems
            USING HINT = 'Nothing was applied. Fix the tables (or the service), then apply sql/ again.';
    END IF;
END
$$;

-- The owner of the project's schema and functions: no login, no attributes.
DO $$
DECLARE
    r pg_catalog.pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'coursegen_owner';
    IF NOT FOUND THEN
        CREATE ROLE coursegen_owner NOLOGIN;
    ELSIF r.rolsuper OR r.rolreplication OR r.rolbypassrls THEN
        -- Only a superuser may take these away; a non-superuser owner must not own
        -- SECURITY DEFINER code as such a role.
        RAISE EXCEPTION 'role coursegen_owner is SUPERUSER, REPLICATION or BYPASSRLS'
            USING HINT = 'A superuser must run: ALTER ROLE coursegen_owner NOSUPERUSER NOREPLICATION NOBYPASSRLS';
    ELSIF r.rolcanlogin OR r.rolcreatedb OR r.rolcreaterole THEN
        ALTER ROLE coursegen_owner NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, 'coursegen_owner', 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT coursegen_owner TO %I', current_user);
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS coursegen AUTHORIZATION coursegen_owner;
ALTER SCHEMA coursegen OWNER TO coursegen_owner;
COMMENT ON SCHEMA coursegen IS
    'coursegen-status: the generation worker API and change notifications; not exposed by PostgREST.';
REVOKE ALL ON SCHEMA coursegen FROM PUBLIC;

-- Functions coursegen_owner creates from now on are not executable by PUBLIC (each
-- file revokes explicitly as well, see revoke_api_access()).
ALTER DEFAULT PRIVILEGES FOR ROLE coursegen_owner REVOKE EXECUTE ON ROUTINES FROM PUBLIC;

SET LOCAL ROLE coursegen_owner;

-- The lock-down of the schema `coursegen`: EXECUTE on every routine in it revoked
-- from PUBLIC, and every privilege on the schema and its routines revoked from
-- Supabase's API roles (anon, authenticated, service_role) when they exist, whatever
-- default privileges gave them. Explicit grants to the project's roles (the worker's
-- EXECUTE, 005) are kept. Call it at the end of every file that creates routines in
-- `coursegen`, in the same transaction:  SELECT coursegen.revoke_api_access();
-- Not SECURITY DEFINER: it runs as the applying role (a member of coursegen_owner).
CREATE OR REPLACE FUNCTION coursegen.revoke_api_access()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f regprocedure;
    r name;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'coursegen'::regnamespace LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f);
        FOR r IN SELECT rolname FROM pg_catalog.pg_roles
                  WHERE rolname IN ('anon', 'authenticated', 'service_role') LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM %I', f, r);
        END LOOP;
    END LOOP;
    REVOKE ALL ON SCHEMA coursegen FROM PUBLIC;
    FOR r IN SELECT rolname FROM pg_catalog.pg_roles
              WHERE rolname IN ('anon', 'authenticated', 'service_role') LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA coursegen FROM %I', r);
    END LOOP;
END
$$;

RESET ROLE;
SELECT coursegen.revoke_api_access();

COMMIT;
