-- 005-worker-role.sql: the database role of the generation worker.
--
-- coursegen_worker may log in and call the worker functions of 004-worker-api.sql,
-- nothing else: no table privileges at all, so every write it makes goes through a
-- function that checks the transition. It is separate from coursegen_status (the
-- service's read-only role, 003-role.sql), which can call none of them. As for the
-- service role, the file sets no password (ALTER ROLE coursegen_worker PASSWORD
-- '...' out of band) and re-applying it is safe.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'coursegen_worker') THEN
        CREATE ROLE coursegen_worker LOGIN;
    END IF;
END
$$;

ALTER ROLE coursegen_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- No direct access to the tables: the functions (SECURITY DEFINER) do the writes.
REVOKE ALL ON TABLE courses, user_organizations FROM coursegen_worker;

GRANT USAGE ON SCHEMA public TO coursegen_worker;
GRANT EXECUTE ON FUNCTION
    generation_enqueue(uuid),
    generation_start(uuid, integer, text),
    generation_progress(uuid, text, integer, text, bigint, double precision),
    generation_complete(uuid, integer, integer, numeric, double precision, bigint),
    generation_fail(uuid, text, boolean),
    generation_cancel(uuid)
TO coursegen_worker;
