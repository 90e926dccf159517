"""doc/decisions.md, D17 and the database edge: the status query is a primary-key lookup, the contract's
indexes exist, the service role reads only what it needs, and database trouble becomes
a tRPC error (503/504) from which the service recovers by itself."""

import re
import subprocess
import time
import unittest

from e2e.common import (E2ECase, OwnStackCase, MEMBER, OWNER, PROC, cid,
                        insert_courses, target, token, bearer,
                        MSG_DB_TIMEOUT, MSG_UNAVAILABLE)

# The service's query, as the spec gives it (src/db.c holds the real text).
STATUS_QUERY = """
SELECT c.id, c.user_id, c.organization_id,
       (c.user_id = $2 OR EXISTS (SELECT 1 FROM user_organizations uo
                                  WHERE uo.user_id = $2
                                    AND uo.organization_id = c.organization_id)),
       c.generation_status, c.generation_metadata,
       floor(extract(epoch FROM c.created_at) * 1000)::int8,
       floor(extract(epoch FROM c.updated_at) * 1000)::int8,
       floor(extract(epoch FROM now()) * 1000)::int8
FROM courses c WHERE c.id = $1
"""

EXPLAINED = cid("database/explained")


class Explain(E2ECase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        insert_courses(cls.stack, [dict(id=EXPLAINED, gen_status="generating")])
        # A realistic table: 20000 other courses, 2000 memberships, statistics current.
        cls.stack.psql(
            "INSERT INTO courses (user_id, organization_id, generation_status) "
            "SELECT gen_random_uuid(), CASE WHEN g % 3 = 0 THEN NULL ELSE gen_random_uuid() END,"
            " (ARRAY['completed','generating','queued',NULL])[1 + g % 4] "
            "FROM generate_series(1, 20000) g;"
            "INSERT INTO user_organizations (user_id, organization_id) "
            "SELECT gen_random_uuid(), gen_random_uuid() FROM generate_series(1, 2000);"
            "ANALYZE courses; ANALYZE user_organizations;")

    def plan(self, generic):
        out = self.stack.psql(
            "SET plan_cache_mode = %s;\n"
            "PREPARE status_q(uuid, uuid) AS %s;\n"
            "EXPLAIN (COSTS OFF) EXECUTE status_q('%s', '%s');\n" % (
                "force_generic_plan" if generic else "force_custom_plan",
                STATUS_QUERY, EXPLAINED, MEMBER))
        return out

    def test_17_status_query_is_primary_key_lookup(self):
        for generic in (False, True):
            with self.subTest(generic_plan=generic):
                plan = self.plan(generic)
                first = [l for l in plan.splitlines() if l.strip()][0]
                self.assertRegex(first.strip(), r"^Index Scan using courses_pkey on courses c",
                                 plan)
                self.assertNotIn("Seq Scan on courses", plan)
                self.assertNotIn("Seq Scan on user_organizations", plan)
        # and the service still answers from that table
        d = self.ok_data(self.status_of(EXPLAINED))
        self.assertEqual(d["courseId"], EXPLAINED)

    def test_17_only_used_indexes(self):
        """sql/002-indexes.sql: the membership test's index exists (the stand-in's
        user_organizations has a surrogate key and none of its own); the contract's
        section 8.2 indexes, used by no plan and the first one blocking HOT updates,
        do not."""
        rows = self.stack.psql(
            "SELECT c.relname, pg_get_indexdef(c.oid), x.indisvalid FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE x.indrelid IN ('public.courses'::regclass, "
            "'public.user_organizations'::regclass) ORDER BY 1;")
        defs = {l.split("|")[0]: l.split("|")[1:] for l in rows.splitlines() if "|" in l}
        self.assertIn("courses_pkey", defs)
        self.assertNotIn("idx_courses_generation_status", defs)
        self.assertNotIn("idx_active_generations", defs)
        self.assertTrue(any(re.search(r"ON public\.user_organizations USING btree "
                                      r"\((user_id, organization_id|organization_id, user_id)",
                                      d) and v == "t" for d, v in defs.values()), defs)

    def test_service_role_least_privilege(self):
        out = self.stack.psql(
            "SELECT has_column_privilege('coursegen_status','courses','generation_metadata','SELECT'),"
            " has_column_privilege('coursegen_status','courses','title','SELECT'),"
            " has_table_privilege('coursegen_status','courses','INSERT'),"
            " has_table_privilege('coursegen_status','courses','UPDATE'),"
            " has_table_privilege('coursegen_status','courses','DELETE'),"
            " has_table_privilege('coursegen_status','user_organizations','INSERT'),"
            " has_column_privilege('coursegen_status','user_organizations','organization_id','SELECT'),"
            " (SELECT rolsuper FROM pg_roles WHERE rolname='coursegen_status');")
        self.assertEqual(out.strip(), "t|f|f|f|f|f|t|f")


def _lock_courses(stack, seconds):
    """Hold ACCESS EXCLUSIVE on courses for `seconds` in a background psql; returns the
    process once the lock is granted."""
    pg = stack.pg
    cmd = ["psql", "-X", "-q", "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
           "-d", pg.dbname, "-c",
           "BEGIN; LOCK TABLE courses IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%s); COMMIT;"
           % seconds]
    if pg.os_user:
        cmd = ["runuser", "-u", pg.os_user, "--"] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        n = stack.psql("SELECT count(*) FROM pg_locks WHERE relation = 'courses'::regclass "
                       "AND mode = 'AccessExclusiveLock' AND granted;").strip()
        if n == "1":
            return proc
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError("could not take the lock on courses")


class DatabaseTrouble(OwnStackCase):
    """Statement timeout -> 504, database down -> 503, recovery without a restart;
    then the workers stop -> nginx's 502, still tRPC JSON."""

    stack_kwargs = dict(workers=1, env={"DB_STATEMENT_TIMEOUT_MS": "500",
                                        "DB_CONNECT_TIMEOUT": "2", "CACHE_TTL_MS": "0"})
    C = cid("database/trouble")

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])

    def eventually_ok(self, attempts=10):
        last = None
        for _ in range(attempts):
            last = self.status_of(self.C)
            if last.status == 200:
                return self.ok_data(last)
            time.sleep(0.3)
        self.fail("service did not recover: %r" % last)

    def test_1_statement_timeout_is_504(self):
        self.ok_data(self.status_of(self.C))
        proc = _lock_courses(self.stack, 4)
        try:
            t0 = time.monotonic()
            resp = self.status_of(self.C)
            took = time.monotonic() - t0
            self.assert_error(resp, 504, "GATEWAY_TIMEOUT", MSG_DB_TIMEOUT, None)
            self.assert_std_headers(resp)
            self.assertLess(took, 3.0, "statement timeout not applied")
        finally:
            proc.wait(timeout=15)
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")

    def test_2_database_down_is_503_then_recovers(self):
        self.ok_data(self.status_of(self.C))
        self.stack.pg.stop()
        try:
            for _ in range(3):
                t0 = time.monotonic()
                resp = self.status_of(self.C)
                self.assertLess(time.monotonic() - t0, 5.0)
                self.assert_error(resp, 503, "SERVICE_UNAVAILABLE", MSG_UNAVAILABLE, None)
                self.assert_std_headers(resp)
                self.assertNotIn(b"connect", resp.body.lower())
                self.assertNotIn(str(self.stack.pg.port).encode(), resp.body)
            # a request that fails before the database is needed is unaffected
            self.assert_error(self.get(target(self.stack, input={"courseId": self.C})), 401,
                              "UNAUTHORIZED")
        finally:
            self.stack.pg.start()
        self.assertEqual(self.eventually_ok(3)["status"], "queued")

    def test_3_database_restarted_under_the_connection(self):
        self.ok_data(self.status_of(self.C))
        self.stack.pg.stop()
        self.stack.pg.start()
        # the old connection is dead; at most one request may notice it
        self.assertEqual(self.eventually_ok(2)["status"], "queued")

    def test_8_workers_down_is_502_json(self):
        self.ok_data(self.status_of(self.C))
        self.stack.service.stop()
        try:
            for tgt in (target(self.stack, input={"courseId": self.C}),
                        target(self.stack, [PROC, PROC], batch=True,
                               input={"0": {"courseId": self.C}, "1": {"courseId": self.C}})):
                with self.subTest(target=tgt[:60]):
                    resp = self.get(tgt, bearer(token(self.stack, OWNER)))
                    err = self.assert_trpc_shaped(resp, 502)
                    self.assertEqual(err["data"]["code"], "BAD_GATEWAY")
        finally:
            self.stack.restart_service()
        self.eventually_ok(5)

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
