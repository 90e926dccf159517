"""sql/ on the platform's database (issue 17) and the worker API's security (issue 11,
section 1), against the real cluster of the harness.

The harness's database is a Supabase stand-in (scripts/localstack.py, PLATFORM_*_SQL): API
roles anon/authenticated/service_role with Supabase's default privileges, the
platform's tables with more columns, a surrogate key on user_organizations, row-level
security with the platform's policies, a child table (lessons) with a foreign key,
comments; `public` writable by PUBLIC as on a cluster upgraded from PostgreSQL 14; and
sql/ applied by platform_owner, a NON-superuser with CREATEROLE. Every other e2e module
runs on it. This module adds databases of its own in the same cluster for what must
start from scratch (a fresh stand-in, a bare database, mismatching tables, attacks).

Run alone: tests/run-e2e -k test_95
"""

import datetime
import json
import os
import re
import subprocess
import threading
import time
import unittest

from e2e.common import (E2ECase, MEMBER, ORG, OWNER, cid, insert_courses, start_stack,
                        stop_stack)
from localstack import (API_ROLES, PLATFORM_OWNER, SERVICE_ROLE, SQL_DIR, SUPERUSER,
                     WORKER_ROLE, HarnessError, run_psql, sql_files)

_STACK = None
PROJECT_LOGIN_ROLES = (SERVICE_ROLE, WORKER_ROLE)
ROLES_SNAPSHOT = ("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
                  "rolreplication, rolcanlogin FROM pg_roles ORDER BY 1;"
                  "SELECT roleid::regrole, member::regrole, admin_option FROM pg_auth_members "
                  "ORDER BY 1, 2;")


def setUpModule():
    global _STACK
    _STACK = start_stack(workers=2, env={"CACHE_TTL_MS": "0"}, platform=True)


def tearDownModule():
    stop_stack(_STACK)


def wait_for(cond, what, timeout=30.0):
    """Poll cond() until it returns something true; return it (AssertionError after
    `timeout` seconds, a generous bound, never a synchronisation)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


class MigrationCase(E2ECase):
    @classmethod
    def setUpClass(cls):
        cls.stack = _STACK
        cls.pg = _STACK.pg

    # -- databases of this module

    def new_db(self, name, platform=True):
        """A new database `name` in the cluster: a fresh Supabase stand-in, or (platform
        False) an empty database owned by the platform owner. Dropped at the end."""
        self.pg.psql("DROP DATABASE IF EXISTS %s" % name, db="postgres")
        self.pg.psql("CREATE DATABASE %s" % name, db="postgres")
        self.addCleanup(self.pg.psql, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name,
                        db="postgres")
        if platform:
            self.pg.make_platform(db=name)
        else:
            self.pg.psql("ALTER DATABASE %s OWNER TO %s" % (name, PLATFORM_OWNER),
                         db=name)
        return name

    def apply(self, db, files=None, variables=None):
        """Apply sql/ (or `files`) to db as the platform owner."""
        if files is None:
            return self.pg.apply_sql_dir(SQL_DIR, user=PLATFORM_OWNER, db=db,
                                         variables=variables)
        return [self.pg.apply_sql_file(f, user=PLATFORM_OWNER, db=db, variables=variables)
                for f in files]

    def sql(self, sql, db=None, user=SUPERUSER):
        return self.pg.psql(sql, user=user, db=db).strip()

    def psql_full(self, sql, user, db=None, env=None):
        """Run sql as user; returns the CompletedProcess (stdout, stderr, returncode)."""
        e = dict(os.environ)
        e["PGPASSWORD"] = self.pg.passwords.get(user, "")
        e.update(env or {})
        return subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h",
                               self.pg.sockdir, "-p", str(self.pg.port), "-U", user, "-d",
                               db or self.pg.dbname],
                              input=sql, capture_output=True, text=True, env=e)

    def file(self, name):
        return os.path.join(SQL_DIR, name)


# The catalog state sql/ is responsible for, to compare two applies.
CATALOG_STATE = """
SELECT p.oid::regprocedure, p.proowner::regrole, p.proacl, p.prosecdef, p.proconfig,
       md5(p.prosrc)
  FROM pg_proc p WHERE p.pronamespace = 'coursegen'::regnamespace ORDER BY 1;
SELECT c.oid::regclass, c.relacl, c.relrowsecurity FROM pg_class c
 WHERE c.oid IN ('public.courses'::regclass, 'public.user_organizations'::regclass,
                 'public.lessons'::regclass) ORDER BY 1;
SELECT tablename, policyname, roles, cmd, qual, with_check FROM pg_policies ORDER BY 1, 2;
SELECT indexrelid::regclass, indisvalid, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid IN ('public.courses'::regclass, 'public.user_organizations'::regclass)
 ORDER BY 1;
SELECT nspname, nspowner::regrole, nspacl FROM pg_namespace
 WHERE nspname IN ('public', 'coursegen') ORDER BY 1;
SELECT rolname, rolconfig FROM pg_roles WHERE rolname LIKE 'coursegen%' ORDER BY 1;
"""

# The platform's objects sql/ must leave as they are.
PLATFORM_STATE = """
SELECT a.attrelid::regclass, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid IN ('public.courses'::regclass, 'public.user_organizations'::regclass,
                      'public.lessons'::regclass)
   AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2;
SELECT c.oid::regclass, obj_description(c.oid, 'pg_class'), c.relrowsecurity,
       c.relforcerowsecurity FROM pg_class c
 WHERE c.oid IN ('public.courses'::regclass, 'public.user_organizations'::regclass,
                 'public.lessons'::regclass) ORDER BY 1;
SELECT tablename, policyname, roles, cmd, qual FROM pg_policies
 WHERE policyname NOT LIKE 'coursegen%' ORDER BY 1, 2;
SELECT conrelid::regclass, conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid IN ('public.courses'::regclass, 'public.user_organizations'::regclass,
                    'public.lessons'::regclass) ORDER BY 1, 2;
"""


class Apply(MigrationCase):
    """sql/ as the platform's non-superuser owner, twice; what it creates and leaves."""

    def test_applies_twice_leaves_platform_objects_alone(self):
        db = self.new_db("cg_apply")
        platform0 = self.sql(PLATFORM_STATE, db)
        self.assertIn("@graphql(", platform0)
        self.assertEqual(self.sql("SELECT rolsuper, rolcreaterole FROM pg_roles "
                                  "WHERE rolname = '%s'" % PLATFORM_OWNER, db), "f|t")
        files = self.apply(db)
        self.assertEqual([os.path.basename(f) for f in files],
                         sorted(os.path.basename(f) for f in sql_files(SQL_DIR)))
        first = self.sql(CATALOG_STATE, db)
        self.apply(db)
        self.assertEqual(self.sql(CATALOG_STATE, db), first, "the second apply changed things")
        self.assertEqual(self.sql(PLATFORM_STATE, db), platform0,
                         "sql/ changed the platform's columns, comments, policies or keys")
        # The worker API is in `coursegen`, owned by coursegen_owner, nothing in public.
        self.assertEqual(self.sql("SELECT count(*) FROM pg_proc WHERE proname LIKE "
                                  "'generation%' AND pronamespace = 'public'::regnamespace",
                                  db), "0")
        self.assertEqual(self.sql("SELECT DISTINCT proowner::regrole FROM pg_proc WHERE "
                                  "pronamespace = 'coursegen'::regnamespace", db),
                         "coursegen_owner")
        self.assertEqual(self.sql("SELECT rolcanlogin, rolsuper, rolcreaterole, rolbypassrls "
                                  "FROM pg_roles WHERE rolname = 'coursegen_owner'", db),
                         "f|f|f|f")
        # Every SECURITY DEFINER function pins search_path with pg_temp last.
        for line in self.sql("SELECT p.oid::regprocedure, p.proconfig FROM pg_proc p WHERE "
                             "p.pronamespace = 'coursegen'::regnamespace", db).splitlines():
            self.assertIn("search_path=pg_catalog, pg_temp", line)

    def test_bare_database(self):
        """An empty database: the tables are created (with their comments), the worker
        API works, and a second apply changes nothing."""
        db = self.new_db("cg_bare", platform=False)
        self.apply(db)
        first = self.sql(CATALOG_STATE.replace("'public.lessons'::regclass", "0"), db)
        self.apply(db)
        self.assertEqual(self.sql(CATALOG_STATE.replace("'public.lessons'::regclass", "0"),
                                  db), first)
        self.assertRegex(self.sql("SELECT obj_description('public.courses'::regclass)", db),
                         r"coursegen-status reads")
        c = cid("migrations/bare")
        self.sql("INSERT INTO courses (id, user_id) VALUES ('%s', '%s')" % (c, OWNER), db)
        m = json.loads(self.sql("SELECT coursegen.generation_enqueue('%s')" % c, db,
                                user=WORKER_ROLE))
        self.assertEqual(m["attempt"], 1)

    def test_existing_tables_checked_first(self):
        """Tables that do not fit (json metadata, timestamp without time zone, no key on
        id): 001 stops with a message naming each problem, and nothing is applied."""
        db = self.new_db("cg_mismatch", platform=False)
        self.sql("CREATE TABLE public.courses (id uuid, user_id uuid, organization_id uuid,"
                 " generation_status text, generation_metadata json,"
                 " created_at timestamp, updated_at timestamp);"
                 "CREATE TABLE public.user_organizations (user_id uuid, org uuid);"
                 "ALTER TABLE public.courses OWNER TO %s;"
                 "ALTER TABLE public.user_organizations OWNER TO %s;"
                 % (PLATFORM_OWNER, PLATFORM_OWNER), db)
        with self.assertRaises(HarnessError) as cm:
            self.apply(db)
        msg = str(cm.exception)
        self.assertIn("001-schema.sql", msg)
        for problem in ("public.courses.generation_metadata is json, jsonb expected",
                        "public.courses.created_at is timestamp without time zone",
                        "public.courses.updated_at is timestamp without time zone",
                        "public.user_organizations.organization_id is missing",
                        "public.courses has no primary key or unique index on (id)"):
            self.assertIn(problem, msg)
        self.assertEqual(self.sql("SELECT count(*) FROM pg_namespace WHERE nspname = "
                                  "'coursegen'", db), "0", "001 applied in part")


class Indexes(MigrationCase):
    """sql/002-indexes.sql decides from the catalog, not from index names."""

    def test_index_of_that_name_with_another_definition(self):
        db = self.new_db("cg_idxname")
        self.sql("CREATE INDEX coursegen_user_organizations_member_idx ON "
                 "public.user_organizations (role)", db)
        with self.assertRaises(HarnessError) as cm:
            self.apply(db)
        self.assertIn("002-indexes.sql", str(cm.exception))
        self.assertIn("public.user_organizations has no valid index on (user_id, "
                      "organization_id)", str(cm.exception))
        # The platform's own index, in the other order, serves: none is added.
        self.sql("DROP INDEX public.coursegen_user_organizations_member_idx; "
                 "CREATE UNIQUE INDEX uo_org_user ON public.user_organizations "
                 "(organization_id, user_id)", db)
        self.apply(db)
        self.assertEqual(self.sql("SELECT string_agg(indexrelid::regclass::text, ',' "
                                  "ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = "
                                  "'public.user_organizations'::regclass", db),
                         "uo_org_user,user_organizations_pkey")


class ApiRoles(MigrationCase):
    """Supabase's default privileges give every function the platform owner creates to
    anon, authenticated and service_role: none of the worker API may reach them."""

    def test_api_roles_execute_nothing(self):
        c = cid("migrations/api-roles")
        insert_courses(self.stack, [dict(id=c, gen_status="generating")])
        # The stand-in's default privileges are real: a function the platform owner
        # creates in public is executable by anon.
        self.sql("SET ROLE %s; CREATE OR REPLACE FUNCTION public.cg_probe() RETURNS int "
                 "LANGUAGE sql AS 'SELECT 1'" % PLATFORM_OWNER)
        self.addCleanup(self.sql, "DROP FUNCTION IF EXISTS public.cg_probe()")
        self.assertEqual(self.sql("SELECT has_function_privilege('anon', 'public.cg_probe()',"
                                  " 'EXECUTE')"), "t")
        # Grants made by hand (or by a tool) to the API roles are taken back by the
        # next apply.
        self.sql("GRANT USAGE ON SCHEMA coursegen TO %s; GRANT EXECUTE ON ALL FUNCTIONS IN "
                 "SCHEMA coursegen TO %s" % (", ".join(API_ROLES), ", ".join(API_ROLES)))
        self.assertEqual(self.sql("SELECT has_function_privilege('anon', "
                                  "'coursegen.generation_cancel(uuid)', 'EXECUTE')"), "t")
        self.apply(self.pg.dbname)
        rows = self.sql("SELECT r.rolname, p.oid::regprocedure,"
                        " has_function_privilege(r.oid, p.oid, 'EXECUTE')"
                        " FROM pg_proc p, pg_roles r"
                        " WHERE p.pronamespace = 'coursegen'::regnamespace"
                        " AND r.rolname IN ('anon', 'authenticated', 'service_role',"
                        " 'coursegen_status')")
        self.assertGreater(len(rows.splitlines()), 40)
        self.assertEqual([l for l in rows.splitlines() if l.endswith("|t")], [])
        for role in API_ROLES + (SERVICE_ROLE,):
            self.assertEqual(self.sql("SELECT has_schema_privilege('%s', 'coursegen', "
                                      "'USAGE')" % role), "f")
            p = self.psql_full("SET ROLE %s; SELECT coursegen.generation_cancel('%s')"
                               % (role, c), SUPERUSER)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("permission denied for schema coursegen", p.stderr)
        self.assertEqual(self.sql("SELECT generation_status FROM courses WHERE id = '%s'"
                                  % c), "generating")


# An attacker's functions: they announce themselves (NOTICE), then try to make the
# session's role a superuser. Whoever they run as, the NOTICE shows that they ran.
TROJAN_BODY = ("$t$ BEGIN RAISE NOTICE 'trojan ran as %%', current_user; "
               "EXECUTE format('ALTER ROLE %%I SUPERUSER CREATEROLE BYPASSRLS', session_user); "
               "RETURN %s; END $t$")


class Attacks(MigrationCase):
    """Issue 11, section 1: as each project role, on a database whose `public` was
    writable by everyone before sql/ was applied (the stand-in's, as after an upgrade
    from PostgreSQL 14), the attacks that made the roles superuser are refused and no
    role's privileges change."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.roles0 = cls.pg.psql(ROLES_SNAPSHOT)

    def tearDown(self):
        self.assertEqual(self.pg.psql(ROLES_SNAPSHOT), self.roles0,
                         "a role's attributes or memberships changed")

    def course(self, name, status="generating"):
        c = cid("migrations/attack/" + name)
        insert_courses(self.stack, [dict(id=c, gen_status=status,
                                         meta={"last_phase": "sections", "batch_count": 2})])
        return c

    def test_public_was_writable_the_old_way(self):
        """The premise: before sql/, PUBLIC could create in public; after, the project's
        roles cannot (the platform's roles keep it, explicitly)."""
        db = self.new_db("cg_oldpublic")
        self.assertEqual(self.sql("SELECT has_schema_privilege('%s', 'public', 'CREATE')"
                                  % WORKER_ROLE, db), "t")
        self.apply(db)
        for role in PROJECT_LOGIN_ROLES + ("coursegen_owner",):
            self.assertEqual(self.sql("SELECT has_schema_privilege('%s', 'public', 'CREATE')"
                                      % role, db), "f", role)
        for role in API_ROLES + (PLATFORM_OWNER,):
            self.assertEqual(self.sql("SELECT has_schema_privilege('%s', 'public', 'CREATE')"
                                      % role, db), "t", role)

    def test_pg_temp_shadowing(self):
        """A temporary `courses` with a trigger in pg_temp: the functions update
        public.courses and never see it."""
        for role in PROJECT_LOGIN_ROLES:
            with self.subTest(role=role):
                c = self.course("temp-" + role)
                p = self.psql_full(
                    "CREATE TEMP TABLE courses (id uuid, user_id uuid, organization_id uuid,"
                    " generation_status text, generation_metadata jsonb,"
                    " created_at timestamptz, updated_at timestamptz);\n"
                    "INSERT INTO pg_temp.courses VALUES ('%(c)s', '%(o)s', NULL,"
                    " 'generating', '{}', now(), now());\n"
                    "CREATE FUNCTION pg_temp.trojan() RETURNS trigger LANGUAGE plpgsql AS %(b)s;\n"
                    "CREATE TRIGGER trojan BEFORE UPDATE ON pg_temp.courses FOR EACH ROW"
                    " EXECUTE FUNCTION pg_temp.trojan();\n"
                    "CREATE FUNCTION pg_temp.jsonb_build_object(text, integer, text, timestamptz)"
                    " RETURNS jsonb LANGUAGE plpgsql AS %(j)s;\n"
                    "SELECT coursegen.generation_cancel('%(c)s');\n"
                    % {"c": c, "o": OWNER, "b": TROJAN_BODY % "NEW",
                       "j": TROJAN_BODY % "'{}'::jsonb"}, role)
                self.assertNotIn("trojan ran", p.stderr)
                status = self.sql("SELECT generation_status FROM courses WHERE id = '%s'" % c)
                if role == WORKER_ROLE:
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertEqual(status, "cancelled", "the real table was not updated")
                else:
                    self.assertIn("permission denied for schema coursegen", p.stderr)
                    self.assertEqual(status, "generating")

    def test_public_overloads(self):
        """Overloads that beat the built-ins (jsonb_build_object with the exact argument
        types of generation_enqueue's call; the untyped-NULL overload of
        generation__close_phase): the project's roles cannot create them in public nor
        in coursegen, and when another role could (the superuser here), the functions
        still call the built-ins and their own, never the overloads."""
        overloads = (
            "public.jsonb_build_object(text, integer, text, timestamptz) RETURNS jsonb",
            "public.generation__close_phase(jsonb, text) RETURNS jsonb",
            "coursegen.generation__close_phase(jsonb, text) RETURNS jsonb",
            "coursegen.jsonb_build_object(text, integer, text, timestamptz) RETURNS jsonb")
        for role in PROJECT_LOGIN_ROLES:
            for sig in overloads:
                with self.subTest(role=role, overload=sig):
                    p = self.psql_full("CREATE FUNCTION %s LANGUAGE plpgsql AS %s"
                                       % (sig, TROJAN_BODY % "'{}'::jsonb"), role)
                    self.assertNotEqual(p.returncode, 0, "%s created %s" % (role, sig))
                    self.assertRegex(p.stderr, r"permission denied for schema "
                                               r"(public|coursegen)")
        # Planted by a role that may (the superuser), they are still never called.
        for sig in overloads[:2]:
            self.sql("CREATE FUNCTION %s LANGUAGE plpgsql AS %s"
                     % (sig, TROJAN_BODY % "'{}'::jsonb"))
            self.addCleanup(self.sql, "DROP FUNCTION IF EXISTS %s" % sig.split(" RETURNS")[0])
            self.sql("GRANT EXECUTE ON FUNCTION %s TO PUBLIC" % sig.split(" RETURNS")[0])
        idle = self.course("overload-idle", status="idle")
        gen = self.course("overload-generating")
        for sql in ("SELECT coursegen.generation_enqueue('%s')" % idle,
                    "SELECT coursegen.generation_start('%s', 8)" % idle,
                    "SELECT coursegen.generation_fail('%s', 'x')" % gen,
                    "SELECT coursegen.generation_progress('%s', 'sections', 3)" % idle,
                    "SELECT coursegen.generation_complete('%s')" % idle):
            p = self.psql_full(sql, WORKER_ROLE)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("trojan ran", p.stderr)


class Worker(MigrationCase):
    """The worker API on the platform's data: malformed metadata, row locks, startedAt."""

    def worker(self, sql):
        p = self.psql_full(sql, WORKER_ROLE)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def test_malformed_metadata_cannot_stop_fail_or_cancel(self):
        bad = {"batch_count": "3 of 8", "total_batches": "eight", "attempt": 1.5,
               "phase_started_at": "yesterday at noon", "last_phase": 7,
               "duration_ms": "x", "started_at": "2025-13-45T99:00:00Z",
               "quality_scores": [1], "model_used": 3}
        variants = [bad, dict(bad, last_phase="sections"),
                    dict(bad, last_phase="sections", batch_count=1e30, total_batches=-3),
                    dict(bad, last_phase="saving", phase_started_at="infinity"),
                    dict(bad, last_phase="validation", phase_started_at=12),
                    dict(bad, last_phase="sections", duration_ms={"sections": 1e30,
                                                                 "metadata": "9"}),
                    "not an object"]
        for i, meta in enumerate(variants):
            for call in ("fail", "cancel"):
                with self.subTest(meta=meta, call=call):
                    c = cid("migrations/malformed/%d/%s" % (i, call))
                    insert_courses(self.stack, [dict(id=c, gen_status="generating",
                                                     meta=meta)])
                    if call == "fail":
                        m = json.loads(self.worker(
                            "SELECT coursegen.generation_fail('%s', 'boom', true)" % c))
                        self.assertEqual(m["error_message"], "boom")
                        self.assertIsInstance(m["last_progress"], int)
                    else:
                        m = json.loads(self.worker(
                            "SELECT coursegen.generation_cancel('%s')" % c))
                    d = self.ok_data(self.status_of(c))
                    self.assertEqual(d["status"], {"fail": "failed",
                                                   "cancel": "cancelled"}[call])
                    # and the course can be queued again
                    m = json.loads(self.worker("SELECT coursegen.generation_enqueue('%s')" % c))
                    self.assertEqual(m["attempt"], 1)
        # progress and complete do not raise casting errors either
        c = cid("migrations/malformed/progress")
        insert_courses(self.stack, [dict(id=c, gen_status="generating", meta=bad)])
        m = json.loads(self.worker("SELECT coursegen.generation_progress('%s', 'sections', 2)"
                                   % c))
        self.assertEqual((m["batch_count"], m["total_batches"]), (2, 8))
        m = json.loads(self.worker("SELECT coursegen.generation_complete('%s')" % c))
        self.assertEqual(self.ok_data(self.status_of(c))["status"], "completed")
        c = cid("migrations/malformed/complete")
        insert_courses(self.stack, [dict(id=c, gen_status="generating", meta=dict(
            bad, last_phase="saving", duration_ms={"sections": 1e30, "saving": -5}))])
        m = json.loads(self.worker("SELECT coursegen.generation_complete('%s')" % c))
        self.assertEqual(self.ok_data(self.status_of(c))["status"], "completed")

    def test_row_lock_does_not_wait_for_child_rows(self):
        """An application transaction inserting a lesson (a row referencing the course:
        FOR KEY SHARE on it) does not hold the worker up (FOR NO KEY UPDATE)."""
        c = cid("migrations/fk")
        insert_courses(self.stack, [dict(id=c, gen_status="generating",
                                         meta={"last_phase": "metadata"})])
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.pg.sockdir, "-p",
             str(self.pg.port), "-U", SUPERUSER, "-d", self.pg.dbname],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, env=dict(os.environ, PGAPPNAME="cg_fk_holder"))
        try:
            holder.stdin.write("BEGIN; INSERT INTO public.lessons (course_id) VALUES ('%s');\n"
                               % c)
            holder.stdin.flush()
            wait_for(lambda: self.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "application_name = 'cg_fk_holder' AND state = "
                                      "'idle in transaction'") == "1",
                     "the lesson insert")
            # The holder is open (checked again after the call): a FOR UPDATE would
            # wait for it and give up at the worker role's lock_timeout.
            m = json.loads(self.worker("SET lock_timeout = '2s'; SELECT "
                                       "coursegen.generation_progress('%s', 'sections', 1)"
                                       % c))
            self.assertEqual(m["batch_count"], 1)
            self.assertEqual(self.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "application_name = 'cg_fk_holder' AND state = "
                                      "'idle in transaction'"), "1")
        finally:
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            holder.wait(30)

    def test_worker_role_timeouts(self):
        out = self.psql_full("SHOW lock_timeout; SHOW statement_timeout; "
                             "SHOW idle_in_transaction_session_timeout;", WORKER_ROLE)
        self.assertEqual(out.stdout.split(), ["5s", "15s", "1min"])

    def test_started_at_and_duration_from_the_generation(self):
        """A course created in September and generated today: created_at stays, startedAt
        is the generation's start (metadata started_at), duration counts from it."""
        c = cid("migrations/started")
        created = "2025-09-01T08:00:00Z"
        insert_courses(self.stack, [dict(id=c, gen_status="idle", created=created)])
        self.worker("SELECT coursegen.generation_enqueue('%s')" % c)
        self.assertEqual(self.ok_data(self.status_of(c))["startedAt"],
                         "2025-09-01T08:00:00.000Z", "queued: no start yet")
        m = json.loads(self.worker("SELECT coursegen.generation_start('%s', 2)" % c))
        started = datetime.datetime.fromisoformat(m["started_at"])
        d = self.ok_data(self.status_of(c))
        self.assertEqual(iso_ms(d["startedAt"]), int(started.timestamp() * 1000))
        self.assertLess(abs(started.timestamp() - time.time()), 120)
        self.worker("SELECT coursegen.generation_progress('%s', 'sections', 2)" % c)
        m = json.loads(self.worker("SELECT coursegen.generation_complete('%s', 4, 2)" % c))
        d = self.ok_data(self.status_of(c))
        self.assertEqual(d["metadata"]["duration"], m["duration_ms"]["total"])
        self.assertLess(d["metadata"]["duration"], 120000, "duration counted from created_at")
        self.assertEqual(iso_ms(d["startedAt"]), int(started.timestamp() * 1000))
        self.assertEqual(self.sql("SELECT to_char(created_at AT TIME ZONE 'UTC', "
                                  "'YYYY-MM-DD HH24:MI') FROM courses WHERE id = '%s'" % c),
                         "2025-09-01 08:00")
        # A generation not started through the API: startedAt is created_at, duration
        # the sum of the phases (not the 83 hours since created_at).
        c2 = cid("migrations/started/outside")
        insert_courses(self.stack, [dict(id=c2, gen_status="generating", created=created,
                                         meta={"last_phase": "saving",
                                               "duration_ms": {"metadata": 1000,
                                                               "sections": 5000,
                                                               "saving": 500}})])
        self.worker("SELECT coursegen.generation_complete('%s')" % c2)
        d = self.ok_data(self.status_of(c2))
        self.assertEqual(d["startedAt"], "2025-09-01T08:00:00.000Z")
        self.assertGreaterEqual(d["metadata"]["duration"], 6500)
        self.assertLess(d["metadata"]["duration"], 120000)


def iso_ms(text):
    """Milliseconds since the epoch of the service's timestamps (...T12:00:00.000Z)."""
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


class Online(MigrationCase):
    """Applying sql/ while the platform works."""

    def test_reapply_under_load(self):
        """The service and the worker keep working while sql/ is applied again and again:
        0 failed calls."""
        c = cid("migrations/load")
        gen = cid("migrations/load/worker")
        insert_courses(self.stack, [dict(id=c, gen_status="completed",
                                         meta={"total_lessons": 3}, org=ORG),
                                    dict(id=gen, gen_status="generating",
                                         meta={"last_phase": "sections"})])
        stop = threading.Event()
        counts = {"http": 0, "worker": 0}
        failures = []

        def http_load(user):
            while not stop.is_set():
                r = self.status_of(c, user=user)
                counts["http"] += 1
                if r.status != 200:
                    failures.append(("http", r.status, r.body[:200]))

        def worker_load():
            while not stop.is_set():
                p = self.psql_full("SELECT coursegen.generation_progress('%s', 'sections')"
                                   % gen, WORKER_ROLE)
                counts["worker"] += 1
                if p.returncode != 0:
                    failures.append(("worker", p.stderr.strip()))

        threads = [threading.Thread(target=http_load, args=(u,)) for u in (OWNER, MEMBER)]
        threads.append(threading.Thread(target=worker_load))
        for t in threads:
            t.start()
        try:
            wait_for(lambda: counts["http"] > 20 and counts["worker"] > 5, "load to start")
            for _ in range(3):
                self.apply(self.pg.dbname)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertEqual(failures, [])
        self.assertGreater(counts["http"], 20)
        print("\n[re-apply under load: 3 applies of sql/, %d HTTP calls, %d worker calls, "
              "%d failed]" % (counts["http"], counts["worker"], len(failures)),
              file=__import__("sys").stderr)

    def test_index_build_behind_long_transaction(self):
        """002's CREATE INDEX CONCURRENTLY behind an open write transaction: writes go on,
        the build gives up at lock_timeout saying so, and the next apply builds it."""
        db = self.new_db("cg_online")
        self.apply(db)
        idx = "coursegen_user_organizations_member_idx"
        self.sql("DROP INDEX public.%s" % idx, db)
        env = dict(os.environ, PGAPPNAME="cg_long_tx")
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.pg.sockdir, "-p",
             str(self.pg.port), "-U", SUPERUSER, "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, env=env)
        build = None
        try:
            holder.stdin.write("BEGIN; INSERT INTO public.user_organizations (user_id, "
                               "organization_id) VALUES (gen_random_uuid(), "
                               "gen_random_uuid());\n")
            holder.stdin.flush()
            wait_for(lambda: self.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "application_name = 'cg_long_tx' AND state = "
                                      "'idle in transaction'", db) == "1",
                     "the long transaction")
            build = subprocess.Popen(
                ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-v", "lock_timeout=5s", "-h",
                 self.pg.sockdir, "-p", str(self.pg.port), "-U", PLATFORM_OWNER, "-d", db,
                 "-f", self.file("002-indexes.sql")],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env=dict(os.environ, PGPASSWORD=self.pg.passwords[PLATFORM_OWNER],
                         PGAPPNAME="cg_index_build"))
            waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                       "'cg_index_build' AND wait_event_type = 'Lock' AND query ~ "
                       "'CREATE INDEX CONCURRENTLY'")
            wait_for(lambda: self.sql(waiting, db) == "1", "the index build to wait")
            # While it waits, other sessions write to the table: nothing queues behind
            # the build (a plain CREATE INDEX would hold them all).
            p = self.psql_full("SET lock_timeout = '2s'; INSERT INTO public.user_organizations"
                               " (user_id, organization_id) VALUES (gen_random_uuid(),"
                               " gen_random_uuid()); UPDATE public.user_organizations SET"
                               " role = 'admin' WHERE id = 1;", SUPERUSER, db=db)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.sql(waiting, db), "1", "the build stopped waiting early")
            out, _ = build.communicate(timeout=120)
            self.assertNotEqual(build.returncode, 0)
            self.assertIn("canceling statement due to lock timeout", out)
            self.assertIn("gives up after lock_timeout if a transaction stays open", out)
            self.assertEqual(self.sql("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                                      "'public.%s'::regclass" % idx, db), "f")
        finally:
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            holder.wait(30)
            if build and build.poll() is None:
                build.kill()
                build.wait()
        out = self.apply(db, files=[self.file("002-indexes.sql")])[0]
        self.assertIn("dropping the invalid index", out)
        self.assertEqual(self.sql("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                                  "'public.%s'::regclass" % idx, db), "t")
        self.apply(db)

    def test_hot_updates_and_buffers_per_worker_call(self):
        """Worker calls with and without the contract's idx_courses_generation_status
        (which older 002 files created): HOT share, buffers and WAL per call."""
        db = self.new_db("cg_hot")
        self.apply(db)
        results = {}
        for label, index in (("without", False), ("with", True)):
            if index:
                self.sql("CREATE INDEX idx_courses_generation_status ON public.courses "
                         "(id, generation_status, updated_at) WHERE generation_status IN "
                         "('queued', 'generating')", db)
            self.sql("INSERT INTO public.courses (user_id, generation_status) SELECT "
                     "gen_random_uuid(), (ARRAY['completed','generating',NULL])[1 + g % 3] "
                     "FROM generate_series(1, 5000) g; ANALYZE public.courses;", db)
            c = cid("migrations/hot/" + label)
            self.sql("INSERT INTO public.courses (id, user_id) VALUES ('%s', '%s')"
                     % (c, OWNER), db)
            self.pg.psql("SELECT coursegen.generation_enqueue('%s');"
                         "SELECT coursegen.generation_start('%s', 8);" % (c, c),
                         user=WORKER_ROLE, db=db)
            stats = ("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                     "WHERE relid = 'public.courses'::regclass")
            before = [int(x) for x in self.sql(stats, db).split("|")]
            n = 200
            self.pg.psql("".join("SELECT coursegen.generation_progress('%s', 'sections');\n"
                                 % c for _ in range(n)), user=WORKER_ROLE, db=db)
            after = wait_for(lambda: (lambda v: v if v[0] - before[0] >= n else None)(
                [int(x) for x in self.sql(stats, db).split("|")]), "the statistics")
            hot = (after[1] - before[1]) / float(after[0] - before[0])
            plans = self.sql("".join(
                "EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                "SELECT coursegen.generation_progress('%s', 'sections');\n" % c
                for _ in range(20)), db)
            bufs = [sum(int(v) for v in re.findall(r"(?:hit|read)=(\d+)", l))
                    for l in plans.splitlines() if l.strip().startswith("Buffers:")
                    and "Planning" not in l]
            wal = [int(v) for v in re.findall(r"WAL: .*bytes=(\d+)", plans)]
            # The first call of the session also reads the catalogs: left out.
            bufs, wal = bufs[1:], wal[1:]
            self.assertEqual((len(bufs), len(wal)), (19, 19), plans)
            results[label] = (hot, sum(bufs) / len(bufs), sum(wal) / len(wal))
        print("\n[worker call (generation_progress), %s]" % ", ".join(
            "%s idx_courses_generation_status: HOT %.1f %%, %.1f buffers, %.0f B WAL per call"
            % (k, v[0] * 100, v[1], v[2]) for k, v in sorted(results.items(), reverse=True)),
            file=__import__("sys").stderr)
        self.assertGreaterEqual(results["without"][0], 0.9)
        self.assertEqual(results["with"][0], 0.0)
        self.assertLess(results["without"][1], results["with"][1])


if __name__ == "__main__":
    unittest.main()
