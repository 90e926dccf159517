-- 006-notify.sql: tell coursegen-status what changed, so its cache stays exact.
--
-- Every committed change to what the status answer or the access decision reads is
-- announced on the channel `coursegen_status` (pg_notify, delivered at commit, only
-- to sessions that LISTEN: each worker of the service does, on its own connection).
-- Payloads, each under the 8000-byte limit:
--   c:<course id>[,<course id>...]                  courses inserted, deleted, or
--        updated in id, user_id, organization_id, generation_status,
--        generation_metadata, created_at or updated_at (up to 200 ids)
--   m:<user id>/<organization id>[,...]             memberships granted or revoked
--        (up to 100 pairs)
--   *                                               a table was truncated: forget all
-- An UPDATE that changes none of those columns (a title, a member's role) announces
-- nothing. Every writer is caught: the worker API of 004-worker-api.sql, a plain
-- UPDATE by the platform's code, a bulk UPDATE, INSERT, DELETE, TRUNCATE.
-- The UPDATE of courses (the frequent write: one row per worker API call) has a
-- row-level trigger whose WHEN clause compares the read columns in the executor, so
-- an unrelated update costs no function call; a statement-level trigger with
-- transition tables cost the worker API about half its calls per second (its query
-- is planned again on every statement; bench/notify_cost.py). A bulk UPDATE then
-- sends one notification per row (PostgreSQL drops duplicates within a transaction).
-- INSERT and DELETE of courses and every write to user_organizations are
-- statement-level with transition tables: one bulk INSERT or DELETE sends one
-- notification per 200 courses (100 memberships), not one per row. The service treats
-- any payload it does not understand as "forget everything", so a stray NOTIFY by
-- another session can cost it a few database reads, never a wrong answer.
--
-- The trigger functions are not SECURITY DEFINER: they run as the writer and only
-- call pg_notify (EXECUTE granted to PUBLIC by PostgreSQL itself); firing a trigger
-- checks no privilege of the writer on them. They live in the schema `coursegen`
-- (created here when missing), with a pinned search_path, and are created as
-- coursegen_owner when that role exists and the applying role is a member of it;
-- EXECUTE on them is revoked from PUBLIC and from Supabase's API roles (a trigger
-- function cannot be called directly anyway). The triggers are created as the
-- applying role, which must own the tables; no superuser.
--
-- One transaction, with a lock_timeout (CREATE TRIGGER briefly locks the tables
-- against writes; psql -v lock_timeout=2s changes the default 5s); applying the file
-- again replaces everything and changes nothing.

\if :{?lock_timeout}
\else
\set lock_timeout '5s'
\endif

BEGIN;
SET LOCAL lock_timeout = :'lock_timeout';

CREATE SCHEMA IF NOT EXISTS coursegen;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'coursegen_owner')
       AND pg_catalog.pg_has_role(current_user, 'coursegen_owner', 'MEMBER')
       AND pg_catalog.has_schema_privilege('coursegen_owner', 'coursegen', 'CREATE') THEN
        SET LOCAL ROLE coursegen_owner;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION coursegen.notify_courses()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_catalog.pg_notify('coursegen_status', '*');
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        FOR payload IN
            SELECT 'c:' || pg_catalog.string_agg(id::text, ',')
            FROM (SELECT id, pg_catalog.row_number() OVER () - 1 AS rn FROM new_rows) s
            GROUP BY rn / 200
        LOOP
            PERFORM pg_catalog.pg_notify('coursegen_status', payload);
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        FOR payload IN
            SELECT 'c:' || pg_catalog.string_agg(id::text, ',')
            FROM (SELECT id, pg_catalog.row_number() OVER () - 1 AS rn FROM old_rows) s
            GROUP BY rn / 200
        LOOP
            PERFORM pg_catalog.pg_notify('coursegen_status', payload);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

-- One updated course row: its id (both ids if the id itself changed). The trigger's
-- WHEN clause has already checked that a column the service reads changed, so the
-- function is called only then.
CREATE OR REPLACE FUNCTION coursegen.notify_course_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.id = OLD.id THEN
        PERFORM pg_catalog.pg_notify('coursegen_status', 'c:' || OLD.id::text);
    ELSE
        PERFORM pg_catalog.pg_notify('coursegen_status',
                                     'c:' || OLD.id::text || ',' || NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION coursegen.notify_memberships()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_catalog.pg_notify('coursegen_status', '*');
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        FOR payload IN
            SELECT 'm:' || pg_catalog.string_agg(p, ',')
            FROM (SELECT user_id::text || '/' || organization_id::text AS p,
                         pg_catalog.row_number() OVER () - 1 AS rn
                  FROM new_rows) s
            GROUP BY rn / 100
        LOOP
            PERFORM pg_catalog.pg_notify('coursegen_status', payload);
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        FOR payload IN
            SELECT 'm:' || pg_catalog.string_agg(p, ',')
            FROM (SELECT user_id::text || '/' || organization_id::text AS p,
                         pg_catalog.row_number() OVER () - 1 AS rn
                  FROM old_rows) s
            GROUP BY rn / 100
        LOOP
            PERFORM pg_catalog.pg_notify('coursegen_status', payload);
        END LOOP;
    ELSE
        -- Pairs that appear or disappear; a changed role changes no access.
        FOR payload IN
            SELECT 'm:' || pg_catalog.string_agg(p, ',')
            FROM (SELECT p, pg_catalog.row_number() OVER () - 1 AS rn
                  FROM ((SELECT user_id::text || '/' || organization_id::text AS p
                         FROM old_rows
                         EXCEPT
                         SELECT user_id::text || '/' || organization_id::text FROM new_rows)
                        UNION
                        (SELECT user_id::text || '/' || organization_id::text
                         FROM new_rows
                         EXCEPT
                         SELECT user_id::text || '/' || organization_id::text FROM old_rows)
                       ) changed
                 ) s
            GROUP BY rn / 100
        LOOP
            PERFORM pg_catalog.pg_notify('coursegen_status', payload);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION coursegen.notify_courses() IS
    'Trigger: announces inserted and deleted course ids on channel coursegen_status (006-notify.sql).';
COMMENT ON FUNCTION coursegen.notify_course_row() IS
    'Trigger: announces an updated course id on channel coursegen_status (006-notify.sql).';
COMMENT ON FUNCTION coursegen.notify_memberships() IS
    'Trigger: announces changed memberships on channel coursegen_status (006-notify.sql).';

-- Triggers are the table owner's business.
RESET ROLE;

-- Transition tables allow one event per trigger, hence one trigger per event.
DROP TRIGGER IF EXISTS coursegen_notify_insert ON public.courses;
DROP TRIGGER IF EXISTS coursegen_notify_update ON public.courses;
DROP TRIGGER IF EXISTS coursegen_notify_delete ON public.courses;
DROP TRIGGER IF EXISTS coursegen_notify_truncate ON public.courses;
CREATE TRIGGER coursegen_notify_insert AFTER INSERT ON public.courses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_courses();
CREATE TRIGGER coursegen_notify_update AFTER UPDATE ON public.courses
    FOR EACH ROW
    WHEN ((OLD.id, OLD.user_id, OLD.organization_id, OLD.generation_status,
           OLD.generation_metadata, OLD.created_at, OLD.updated_at)
          IS DISTINCT FROM
          (NEW.id, NEW.user_id, NEW.organization_id, NEW.generation_status,
           NEW.generation_metadata, NEW.created_at, NEW.updated_at))
    EXECUTE FUNCTION coursegen.notify_course_row();
CREATE TRIGGER coursegen_notify_delete AFTER DELETE ON public.courses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_courses();
CREATE TRIGGER coursegen_notify_truncate AFTER TRUNCATE ON public.courses
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_courses();

DROP TRIGGER IF EXISTS coursegen_notify_insert ON public.user_organizations;
DROP TRIGGER IF EXISTS coursegen_notify_update ON public.user_organizations;
DROP TRIGGER IF EXISTS coursegen_notify_delete ON public.user_organizations;
DROP TRIGGER IF EXISTS coursegen_notify_truncate ON public.user_organizations;
CREATE TRIGGER coursegen_notify_insert AFTER INSERT ON public.user_organizations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_memberships();
CREATE TRIGGER coursegen_notify_update AFTER UPDATE ON public.user_organizations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_memberships();
CREATE TRIGGER coursegen_notify_delete AFTER DELETE ON public.user_organizations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_memberships();
CREATE TRIGGER coursegen_notify_truncate AFTER TRUNCATE ON public.user_organizations
    FOR EACH STATEMENT EXECUTE FUNCTION coursegen.notify_memberships();

-- Nobody calls these directly.
REVOKE ALL ON FUNCTION coursegen.notify_courses(), coursegen.notify_course_row(),
    coursegen.notify_memberships() FROM PUBLIC;
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION coursegen.notify_courses(), '
                'coursegen.notify_course_row(), coursegen.notify_memberships() FROM %I', r);
        END IF;
    END LOOP;
    -- The schema's own lock-down (sql/001-schema.sql), where it exists.
    IF pg_catalog.to_regprocedure('coursegen.revoke_api_access()') IS NOT NULL THEN
        PERFORM coursegen.revoke_api_access();
    END IF;
END
$$;

COMMIT;
