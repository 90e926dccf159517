"""Database faults (issue 4), beyond test_70_database.py: PostgreSQL restarted (fast and
immediate) under concurrent load, the connection reused after a statement timeout, libpq
failover across two local servers, and a schema that does not fit (a dropped column, an
empty database) at start-up (--check-config) and per call (500, logged once)."""

import os
import subprocess
import threading
import time
import unittest
import urllib.parse

from localstack import Postgres, SERVICE_ROLE, SQL_DIR
from e2e.common import (OWNER, PROC, OwnStackCase, bearer, cid, insert_courses, lit,
                        target, token, MSG_DB_TIMEOUT, MSG_INTERNAL, MSG_UNAVAILABLE)

from e2e.test_70_database import _lock_courses


def service_backends(stack):
    """Backend pids of the service role's connections."""
    out = stack.psql("SELECT pid FROM pg_stat_activity WHERE usename = '%s' ORDER BY pid;"
                     % SERVICE_ROLE)
    return [int(x) for x in out.split()]


class RestartUnderLoad(OwnStackCase):
    """Threads poll while PostgreSQL is stopped and started again: no worker dies, every
    answer is a 200 or a fast 503, and calls succeed again soon after the server is back."""

    stack_kwargs = dict(workers=2, env={"CACHE_TTL_MS": "0", "DB_CONNECT_TIMEOUT": "2"})
    C = cid("faults/restart")
    THREADS = 4

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])

    def run_outage(self, mode):
        tok = token(self.stack, OWNER)
        tgt = target(self.stack, input={"courseId": self.C})
        results = []        # (t_start, t_end, status, data code)
        lock = threading.Lock()
        stop = threading.Event()
        errors = []

        def worker():
            try:
                while not stop.is_set():
                    t0 = time.monotonic()
                    resp = self.get(tgt, bearer(tok))
                    t1 = time.monotonic()
                    code = None
                    if resp.status != 200:
                        code = resp.json()["error"]["data"]["code"]
                        msg = resp.json()["error"]["message"]
                        if code == "SERVICE_UNAVAILABLE" and msg != MSG_UNAVAILABLE:
                            code = "bad message: " + msg
                    with lock:
                        results.append((t0, t1, resp.status, code))
            except Exception as e:   # reported below, never swallowed
                errors.append(repr(e))

        def wait_for(cond, what, timeout=30.0):
            """Poll until cond() (a generous bound, never a window the test relies on)."""
            deadline = time.monotonic() + timeout
            while not cond():
                if errors or time.monotonic() > deadline:
                    self.fail("waited %g s for %s: %r" % (timeout, what, errors))
                time.sleep(0.02)

        def since(t):
            with lock:
                return [r for r in results if r[0] > t]

        pids = sorted(self.stack.service.alive_pids())
        log0 = len(self.stack.service_log())
        threads = [threading.Thread(target=worker) for _ in range(self.THREADS)]
        for t in threads:
            t.start()
        try:
            # served before the outage; then down until every thread has seen a 503;
            # then up until the last 20 calls started after the restart were all 200
            wait_for(lambda: sum(r[2] == 200 for r in since(0)) >= 20, "20 answers")
            t_down = time.monotonic()
            self.stack.pg.stop(mode=mode)
            wait_for(lambda: sum(r[2] == 503 for r in since(t_down)) >= self.THREADS,
                     "the outage to be answered 503")
            self.stack.pg.start()
            t_up = time.monotonic()

            def back():
                after = sorted(since(t_up))[-20:]
                return len(after) == 20 and all(r[2] == 200 for r in after)
            wait_for(back, "20 calls in a row answered 200 after the restart")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(self.stack.service.alive_pids()), pids,
                         "a worker died or was restarted")
        statuses = {}
        for _, _, s, c in results:
            statuses[(s, c)] = statuses.get((s, c), 0) + 1
        # only successes and SERVICE_UNAVAILABLE: no 500, no 502/504, no hang
        self.assertEqual(set(statuses) - {(200, None), (503, "SERVICE_UNAVAILABLE")}, set(),
                         statuses)
        self.assertGreater(statuses.get((503, "SERVICE_UNAVAILABLE"), 0), 0,
                           "the outage was not seen: %r" % statuses)
        # no call hangs: a 503 comes within DB_CONNECT_TIMEOUT (2 s), with margin
        slowest = max(t1 - t0 for t0, t1, _, _ in results)
        self.assertLess(slowest, 10.0, "a call hung during the outage")
        before = [r for r in results if r[1] < t_down]
        self.assertTrue(before and all(r[2] == 200 for r in before))
        # back: every worker answers again (the wait above ended on 20 calls in a row)
        self.assertTrue(any(r[0] > t_up and r[2] == 200 for r in results), statuses)
        # the outage is logged once per worker, not once per failed call
        log = self.stack.service_log()[log0:]
        unavailable = log.count("database unavailable")
        self.assertGreaterEqual(unavailable, 1, log[-2000:])
        self.assertLessEqual(unavailable, len(pids), log[-2000:])
        self.assertLess(unavailable, statuses[(503, "SERVICE_UNAVAILABLE")])
        return statuses

    def test_1_fast_shutdown_under_load(self):
        self.run_outage("fast")

    def test_2_crash_under_load(self):
        # immediate mode: the postmaster quits without a clean shutdown (a crash)
        self.run_outage("immediate")

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class TimeoutKeepsConnection(OwnStackCase):
    """A statement timeout is answered 504 for every call it hits (a batch too), and the
    worker keeps the same database connection afterwards (no reconnect)."""

    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": "0", "DB_STATEMENT_TIMEOUT_MS": "300"})
    C = cid("faults/timeout")

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="generating")])

    def test_timeout_then_same_connection(self):
        self.ok_data(self.status_of(self.C))
        backends = service_backends(self.stack)
        self.assertEqual(len(backends), 1, backends)
        log0 = len(self.stack.service_log())
        proc = _lock_courses(self.stack, 3)
        try:
            t0 = time.monotonic()
            resp = self.status_of(self.C)
            self.assert_error(resp, 504, "GATEWAY_TIMEOUT", MSG_DB_TIMEOUT, PROC)
            tgt = target(self.stack, [PROC, PROC], batch=True,
                         input={"0": {"courseId": self.C}, "1": {"courseId": self.C}})
            resp = self.get(tgt, bearer(token(self.stack, OWNER)))
            self.assertEqual(resp.status, 504, resp)
            for item in resp.json():
                self.assert_error_obj(item["error"], 504, "GATEWAY_TIMEOUT", MSG_DB_TIMEOUT, PROC)
            self.assertLess(time.monotonic() - t0, 2.5, "statement timeout not applied")
        finally:
            proc.wait(timeout=15)
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "generating")
        self.assertEqual(service_backends(self.stack), backends,
                         "the worker reconnected after a statement timeout")
        log = self.stack.service_log()[log0:]
        self.assertIn("timed out", log)
        self.assertNotIn("reconnecting", log)
        self.assertNotIn("database unavailable", log)

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class Failover(OwnStackCase):
    """DATABASE_URL with two hosts (libpq failover): a second local PostgreSQL server with
    the same schema holds the same course in another state, so each answer tells which
    server served it."""

    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": "0", "DB_CONNECT_TIMEOUT": "2"})
    C = cid("faults/failover")

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])
        pg2 = Postgres(os.path.join(stack.root, "pg2"))
        cls.pg2 = pg2
        cls.addClassCleanup(pg2.close)
        pg2.start()
        pg2.apply_sql_dir(SQL_DIR)
        password = stack.pg.passwords[SERVICE_ROLE]
        pg2.set_password(SERVICE_ROLE, password)
        insert_courses(pg2, [dict(id=cls.C, gen_status="completed")])
        cls.url = "postgresql://%s:%s@127.0.0.1:%d,127.0.0.1:%d/%s" % (
            SERVICE_ROLE, urllib.parse.quote(password, safe=""), pg2.port, stack.pg.port,
            stack.pg.dbname)

    def served_status(self, attempts=1):
        last = None
        for _ in range(attempts):
            last = self.status_of(self.C)
            if last.status == 200:
                return self.ok_data(last)["status"]
            time.sleep(0.3)
        self.fail("no answer from either server: %r" % last)

    def test_first_host_down(self):
        self.pg2.stop()
        self.stack.restart_service(env={"DATABASE_URL": self.url})
        try:
            pids = self.stack.service.alive_pids()
            # the first host refuses connections: libpq goes on to the second
            self.assertEqual(self.served_status(), "queued")
            self.assertEqual(self.served_status(), "queued")
            # --check-config sees the same
            p = subprocess.run([self.stack.service.binary, "--check-config"],
                               env=self.stack.service_env, capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            # now the second host goes down and the first comes up: the worker follows
            self.pg2.start()
            self.stack.pg.stop()
            try:
                self.assertEqual(self.served_status(attempts=5), "completed")
            finally:
                self.stack.pg.start()
            self.assertEqual(self.stack.service.alive_pids(), pids)
        finally:
            self.stack.restart_service()

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class SchemaDoesNotFit(OwnStackCase):
    """The migrations not applied, or a column gone: --check-config fails with a clear
    message; each call is a 500 with the generic message; the log says it once per worker,
    not once per call."""

    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": "0"})
    C = cid("faults/schema")
    CALLS = 15

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])
        stack.psql("CREATE DATABASE empty_db;")

    def check_config(self, url=None):
        env = dict(self.stack.service_env)
        if url:
            env["DATABASE_URL"] = url
        return subprocess.run([self.stack.service.binary, "--check-config"], env=env,
                              capture_output=True, text=True, timeout=30)

    def calls_are_generic_500(self):
        log0 = len(self.stack.service_log())
        for _ in range(self.CALLS):
            resp = self.status_of(self.C)
            self.assert_error(resp, 500, "INTERNAL_SERVER_ERROR", MSG_INTERNAL, PROC)
            self.assert_std_headers(resp)
            for word in (b"column", b"relation", b"generation_metadata", b"courses", b"SQL"):
                self.assertNotIn(word, resp.body)
        log = self.stack.service_log()[log0:]
        errors = [l for l in log.splitlines() if "error" in l.lower()]
        self.assertEqual(len(errors), 1, "logged %d times for %d calls:\n%s"
                         % (len(errors), self.CALLS, "\n".join(errors[:5])))
        self.assertRegex(errors[0], r"schema|does not exist")

    def test_1_check_config_ok_on_the_real_schema(self):
        p = self.check_config()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration ok", p.stdout)

    def test_2_empty_database(self):
        url = self.stack.service_env["DATABASE_URL"].rsplit("/", 1)[0] + "/empty_db"
        p = self.check_config(url)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("schema does not fit", p.stderr)
        self.assertIn("sql/", p.stderr)              # says what to do
        self.assertIn('relation "courses" does not exist', p.stderr)
        self.assertNotIn("ERROR:  ", p.stderr)       # libpq's prefix is not repeated
        self.assertNotIn(self.stack.pg.passwords[SERVICE_ROLE], p.stderr + p.stdout)
        self.stack.restart_service(env={"DATABASE_URL": url})
        try:
            self.calls_are_generic_500()
        finally:
            self.stack.restart_service()
        self.ok_data(self.status_of(self.C))

    def test_3_column_dropped_while_running(self):
        self.ok_data(self.status_of(self.C))       # statement prepared on the old schema
        self.stack.psql("ALTER TABLE courses RENAME COLUMN generation_metadata TO gm_old;")
        try:
            self.calls_are_generic_500()
            p = self.check_config()
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("schema does not fit", p.stderr)
            self.assertIn("generation_metadata", p.stderr)
            # a worker started on the broken schema behaves the same
            self.stack.restart_service()
            self.calls_are_generic_500()
        finally:
            self.stack.psql("ALTER TABLE courses RENAME COLUMN gm_old TO generation_metadata;")
        # fixed: served again without a restart
        deadline = time.monotonic() + 15
        while True:
            resp = self.status_of(self.C)
            if resp.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.ok_data(resp)

    def test_4_each_break_is_logged_again(self):
        """Every episode of a broken schema is logged (once), not only a worker's first."""
        self.ok_data(self.status_of(self.C))
        for episode in range(2):
            with self.subTest(episode=episode):
                self.stack.psql("ALTER TABLE courses RENAME COLUMN generation_status TO gs_old;")
                try:
                    self.calls_are_generic_500()
                finally:
                    self.stack.psql("ALTER TABLE courses RENAME COLUMN gs_old "
                                    "TO generation_status;")
                self.ok_data(self.status_of(self.C))

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
