-- 005-worker-role.sql: the database role of the generation worker.
--
-- coursegen_worker may log in and call the worker functions of 004-worker-api.sql
-- (coursegen.generation_*), nothing else: no table privileges at all, so every write
-- it makes goes through a function that checks the transition. It is separate from
-- coursegen_status (the service's read-only role, 003-role.sql), which can call none
-- of them. As for the service role, the file sets no password (ALTER ROLE
-- coursegen_worker PASSWORD '...' out of band); one transaction, re-applying is safe.
--
-- The role's sessions get timeouts (ALTER ROLE ... SET; a session may lower them):
-- a worker call waits at most lock_timeout for a course row, runs at most
-- statement_timeout, and a worker that leaves a transaction open (holding row locks)
-- is disconnected after idle_in_transaction_session_timeout.

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
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'coursegen_worker';
    IF NOT FOUND THEN
        CREATE ROLE coursegen_worker LOGIN;
    ELSIF r.rolsuper OR r.rolreplication OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role coursegen_worker is SUPERUSER, REPLICATION or BYPASSRLS'
            USING HINT = 'A superuser must run: ALTER ROLE coursegen_worker NOSUPERUSER NOREPLICATION NOBYPASSRLS';
    ELSIF NOT r.rolcanlogin OR r.rolcreatedb OR r.rolcreaterole THEN
        ALTER ROLE coursegen_worker LOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

ALTER ROLE coursegen_worker SET lock_timeout = '5s';
ALTER ROLE coursegen_worker SET statement_timeout = '15s';
ALTER ROLE coursegen_worker SET idle_in_transaction_session_timeout = '60s';

-- No direct access to the tables: the functions (SECURITY DEFINER) do the writes.
REVOKE ALL ON TABLE public.courses, public.user_organizations FROM coursegen_worker;
REVOKE CREATE ON SCHEMA public FROM coursegen_worker;

GRANT USAGE ON SCHEMA coursegen TO coursegen_worker;
GRANT EXECUTE ON FUNCTION
    coursegen.generation_enqueue(uuid),
    coursegen.generation_start(uuid, integer, text),
    coursegen.generation_progress(uuid, text, integer, text, bigint, double precision),
    coursegen.generation_complete(uuid, integer, integer, numeric, double precision, bigint),
    coursegen.generation_fail(uuid, text, boolean),
    coursegen.generation_cancel(uuid)
TO coursegen_worker;

SELECT coursegen.revoke_api_access();

COMMIT;
