-- 003-role.sql: the database role the service connects as.
--
-- coursegen_status may log in and read exactly the columns of the status query
-- (src/db.c), nothing else: no writes, no other columns (title, status, role, ...),
-- no other tables, no routine of the schema `coursegen`. The file sets no password:
-- the operator sets one out of band,
--   ALTER ROLE coursegen_status PASSWORD '...';
-- (or uses peer/cert authentication in pg_hba.conf).
--
-- One transaction: the privileges are revoked and granted again inside it, so a
-- re-apply while the service runs never shows it a moment without them.
--
-- Row-level security: on the platform both tables have RLS enabled, with policies
-- for the platform's users only, and coursegen_status is NOBYPASSRLS, so it would see
-- no row ("Course not found" for everything). The service makes its own
-- authorization decision (owner or member, contract section 3.2) in its query, so
-- it gets a policy of its own that lets it read every row, for SELECT and for this
-- role only. Policies are created only when missing (CREATE POLICY locks the table).
--
-- The schema `public`: before PostgreSQL 15 (and on every cluster upgraded from one)
-- PUBLIC may CREATE in it, so any role, this one included, could plant a table or a
-- function there that other roles' unqualified names resolve to. When that is the
-- case here, CREATE is revoked from PUBLIC and granted back explicitly to every
-- existing role other than the project's (and the predefined pg_* roles), so the
-- platform's own roles keep what they had and only the project's roles lose it. Roles
-- created later get PostgreSQL 15's default (no CREATE on public unless granted).
-- The worker API does not depend on this (its functions never look in `public`
-- unqualified); it closes the door for the project's roles.

\if :{?lock_timeout}
\else
\set lock_timeout '5s'
\endif

BEGIN;
SET LOCAL lock_timeout = :'lock_timeout';

DO $$
DECLARE
    r pg_catalog.pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'coursegen_status';
    IF NOT FOUND THEN
        CREATE ROLE coursegen_status LOGIN;
    ELSIF r.rolsuper OR r.rolreplication OR r.rolbypassrls THEN
        -- A role with CREATEROLE cannot take these away; refuse instead of running
        -- the service with them.
        RAISE EXCEPTION 'role coursegen_status is SUPERUSER, REPLICATION or BYPASSRLS'
            USING HINT = 'A superuser must run: ALTER ROLE coursegen_status NOSUPERUSER NOREPLICATION NOBYPASSRLS';
    ELSIF NOT r.rolcanlogin OR r.rolcreatedb OR r.rolcreaterole THEN
        -- An existing password is kept (ALTER ROLE without PASSWORD keeps it).
        ALTER ROLE coursegen_status LOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- Start from nothing on the two tables, then grant the columns the query reads.
REVOKE ALL ON TABLE public.courses, public.user_organizations FROM coursegen_status;

-- Lookup by id, ownership, organization, state machine input, timestamps.
GRANT SELECT (id, user_id, organization_id, generation_status, generation_metadata,
              created_at, updated_at)
    ON TABLE public.courses TO coursegen_status;

-- Membership test of the authorization rule (contract section 3.2).
GRANT SELECT (user_id, organization_id)
    ON TABLE public.user_organizations TO coursegen_status;

-- Name resolution of the tables above; no CREATE on the schema.
GRANT USAGE ON SCHEMA public TO coursegen_status;
REVOKE CREATE ON SCHEMA public FROM coursegen_status;

-- Row-level security: read every row (the service decides who sees what).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies WHERE schemaname = 'public'
                      AND tablename = 'courses' AND policyname = 'coursegen_status_read') THEN
        CREATE POLICY coursegen_status_read ON public.courses
            AS PERMISSIVE FOR SELECT TO coursegen_status USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies WHERE schemaname = 'public'
                      AND tablename = 'user_organizations'
                      AND policyname = 'coursegen_status_read') THEN
        CREATE POLICY coursegen_status_read ON public.user_organizations
            AS PERMISSIVE FOR SELECT TO coursegen_status USING (true);
    END IF;
END
$$;

-- CREATE on public: taken from PUBLIC, given back to the platform's roles (above).
DO $$
DECLARE
    r name;
BEGIN
    IF pg_catalog.has_schema_privilege('public', 'public', 'CREATE') THEN
        FOR r IN SELECT rolname FROM pg_catalog.pg_roles
                  WHERE rolname NOT LIKE 'pg\_%'
                    AND rolname NOT IN ('coursegen_status', 'coursegen_worker',
                                        'coursegen_owner')
                  ORDER BY rolname LOOP
            EXECUTE pg_catalog.format('GRANT CREATE ON SCHEMA public TO %I', r);
        END LOOP;
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        IF pg_catalog.has_schema_privilege('public', 'public', 'CREATE') THEN
            -- Not the schema's owner: REVOKE only warned. Say what to do.
            RAISE WARNING 'coursegen: PUBLIC may still CREATE in schema public (% cannot revoke it)', current_user
                USING HINT = 'The owner of schema public (or a superuser) should run: REVOKE CREATE ON SCHEMA public FROM PUBLIC;';
        ELSE
            RAISE NOTICE 'coursegen: CREATE on schema public revoked from PUBLIC (kept for the existing non-project roles)';
        END IF;
    END IF;
END
$$;

COMMIT;
