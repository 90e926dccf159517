-- 003-role.sql: the database role the service connects as.
--
-- coursegen_status may log in and read exactly the columns of the status query
-- (src/db.c), nothing else: no writes, no other columns (title, status, role, ...),
-- no other tables. The file sets no password: the operator sets one out of band,
--   ALTER ROLE coursegen_status PASSWORD '...';
-- (or uses peer/cert authentication in pg_hba.conf). Re-applying the file is safe:
-- the role is created only when missing, its attributes are reset, and the table
-- privileges are revoked and granted again, so the result is always exactly the
-- list below (revoking a table privilege also revokes it on every column).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'coursegen_status') THEN
        CREATE ROLE coursegen_status LOGIN;
    END IF;
END
$$;

-- Whatever an older deployment gave it, the role is a plain login role. An existing
-- password is kept (ALTER ROLE without PASSWORD does not touch it).
ALTER ROLE coursegen_status LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Start from nothing on the two tables, then grant the columns the query reads.
REVOKE ALL ON TABLE courses, user_organizations FROM coursegen_status;

-- Lookup by id, ownership, organization, state machine input, timestamps.
GRANT SELECT (id, user_id, organization_id, generation_status, generation_metadata,
              created_at, updated_at)
    ON TABLE courses TO coursegen_status;

-- Membership test of the authorization rule (contract section 3.2).
GRANT SELECT (user_id, organization_id)
    ON TABLE user_organizations TO coursegen_status;

-- Name resolution of the tables above; no CREATE on the schema.
GRANT USAGE ON SCHEMA public TO coursegen_status;
