"""statement_timeout behind PgBouncer in transaction mode (DB_PREPARE=0).

A transaction pooler hands each transaction whatever server connection is free, so a
session-level `SET statement_timeout` lands on one server connection, stays there for
the pooler's other clients, and is missing from this worker's later queries when they
land elsewhere. The pool here has ONE server connection, so the service and psql
always share it: the timeout must cut the service's slow statement off, and must not
be left behind for psql.
"""

import os
import subprocess
import time
import unittest

import localstack
from e2e.common import OwnStackCase, cid, insert_courses, MSG_DB_TIMEOUT
from e2e import test_70_database


class TimeoutBehindPgBouncer(OwnStackCase):

    stack_kwargs = dict(workers=1, env={"DB_STATEMENT_TIMEOUT_MS": "500", "DB_PREPARE": "0",
                                        "CACHE_TTL_MS": "0", "DB_CONNECT_TIMEOUT": "5"})
    C = cid("pgbouncer/course")

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])
        # One server connection: the service and psql always share it.
        cls.bouncer = localstack.PgBouncer(os.path.join(stack.root, "pgbouncer"), stack.pg,
                                           pool=1)
        cls.addClassCleanup(cls.bouncer.stop)
        stack.restart_service(env={"DATABASE_URL": cls.bouncer.dsn()})

    def test_1_no_setting_left_for_other_clients(self):
        for _ in range(3):
            self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")
        # the pool's one server connection, as the next client gets it
        self.assertEqual(self.bouncer.psql("SHOW statement_timeout"), "0")

    def test_2_slow_statement_cut_off(self):
        self.ok_data(self.status_of(self.C))
        # another client of the pool leaves its own session setting behind
        self.bouncer.psql("SET statement_timeout = 0")
        pg = self.stack.pg
        cmd = ["psql", "-X", "-q", "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
               "-d", pg.dbname, "-c", "BEGIN; LOCK TABLE courses IN ACCESS EXCLUSIVE MODE;"
               " SELECT pg_sleep(30); COMMIT;"]
        if pg.os_user:
            cmd = ["runuser", "-u", pg.os_user, "--"] + cmd
        locker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while self.stack.psql(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'courses'::regclass "
                    "AND mode = 'AccessExclusiveLock' AND granted").strip() != "1":
                self.assertLess(time.monotonic(), deadline, "no lock on courses")
                time.sleep(0.05)
            # The lock is held for 30 s: only the timeout answers before that.
            resp = self.status_of(self.C)
            self.assert_error(resp, 504, "GATEWAY_TIMEOUT", MSG_DB_TIMEOUT, None)
            self.assertIsNone(locker.poll(), "the lock was released before the answer")
        finally:
            self.stack.psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                            "relation = 'courses'::regclass AND mode = 'AccessExclusiveLock'")
            locker.wait(timeout=15)
        # the same worker and pool serve the next call
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")
        self.assertEqual(self.bouncer.psql("SHOW statement_timeout"), "0")

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class TroubleWithoutNamedStatement(test_70_database.DatabaseTrouble):
    """DB_PREPARE=0 without a pooler: the same statement timeout, outage and restart
    behaviour as with the prepared statement (the pipeline's error paths)."""

    stack_kwargs = dict(workers=1, env={"DB_STATEMENT_TIMEOUT_MS": "500", "DB_PREPARE": "0",
                                        "DB_CONNECT_TIMEOUT": "2", "CACHE_TTL_MS": "0"})


if __name__ == "__main__":
    unittest.main()
