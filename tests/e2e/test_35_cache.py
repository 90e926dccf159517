"""The status cache (doc/decisions.md, D15, issue 10): exact, kept by the database's change
notifications (sql/006-notify.sql), and never one user's answer for another.

Hits and misses are proven by counting the service's status queries in the cluster's
pg_stat_statements, never by timing: with the cache off or broken, the counts fail.
Every write is followed by the very next poll, which must show it."""

import http.client
import json
import os
import threading
import time
import unittest
import urllib.parse

from e2e.common import (OwnStackCase, MEMBER, OTHER_ORG, OUTSIDER, OWNER, PROC,
                        add_member, batch_input, bearer, cid, insert_courses, remove_member,
                        target, token, MSG_FORBIDDEN, MSG_NOT_FOUND, MSG_UNAUTH)
from localstack import PgBouncer, Postgres, SERVICE_ROLE, _run_group, _user_kwargs

C1 = cid("cache/owner-first")
C2 = cid("cache/outsider-first")
C3 = cid("cache/updated")
C4 = cid("cache/revoked")
C5 = cid("cache/unauthenticated")
C_HITS = cid("cache/hits")
C_ETA = cid("cache/eta")
C_PLAIN = cid("cache/plain-update")
C_BULK = ["%s" % cid("cache/bulk-%d" % i) for i in range(300)]
C_DEL = cid("cache/delete")
C_OWNER = cid("cache/owner-change")
C_ORGCH = cid("cache/org-change")
C_API = cid("cache/worker-api")
C_TERM = cid("cache/terminate")
C_RESTART = cid("cache/restart")
C_SILENT = cid("cache/silent")
REVOKEE = "77777777-7777-4777-8777-777777777777"
GRANTEE = "88888888-8888-4888-8888-888888888888"
REVOKE_ORG = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
GRANT_ORG = "ffffffff-ffff-4fff-8fff-ffffffffffff"
HIT_MEMBER = "99999999-9999-4999-8999-999999999999"
HIT_ORG = "abababab-abab-4bab-8bab-abababababab"


def enable_statement_counts(stack):
    stack.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")


def statements(stack):
    """Status queries the service has run so far (pg_stat_statements, by its role)."""
    return int(stack.psql(
        "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
        "JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '%s' "
        "AND s.query LIKE '%%FROM courses%%';" % SERVICE_ROLE).strip())


def metric(stack, text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("%s not in the metrics of %r" % (name, stack))


def metrics_text(stack):
    from e2e.common import request
    resp = request(stack, "GET", "/metrics")
    assert resp.status == 200, resp
    return resp.body.decode()


def notices(stack):
    return metric(stack, metrics_text(stack), "coursegen_cache_notifications_total")


def wait_notices(stack, before, n=1):
    """Wait until the service has received n more change notifications. Delivery is
    asynchronous (the listening backend sends them after the writer's commit, at the
    pace the machine schedules it): the assertion that follows is about the very next
    poll after that, not about a delay."""
    deadline = time.monotonic() + 30
    while notices(stack) < before + n:
        if time.monotonic() > deadline:
            raise AssertionError("%d notification(s) never arrived" % n)
        time.sleep(0.01)


def set_row(stack, course, assignment, silent=False):
    """UPDATE one course; silent: with triggers off (session_replication_role), so no
    notification is sent, as if it had been missed."""
    pre = "SET session_replication_role = replica; " if silent else ""
    n0 = None if silent else notices(stack)
    stack.psql("%sUPDATE courses SET %s WHERE id = '%s';" % (pre, assignment, course))
    if not silent:
        wait_notices(stack, n0)


def eventually_status(case, course, want, timeout=30):
    """In the TTL mode a write reaches the answer once the entry expires: poll until
    it shows (bounded), rather than sleeping for CACHE_TTL_MS and hoping."""
    deadline = time.monotonic() + timeout
    while True:
        got = case.ok_data(case.status_of(course))["status"]
        if got == want:
            return
        if time.monotonic() > deadline:
            raise AssertionError("status still %r, not %r, after %d s" % (got, want, timeout))
        time.sleep(0.05)


def write(stack, sql, n=1):
    """Run sql, then wait for its n notifications."""
    n0 = notices(stack)
    stack.psql(sql)
    wait_notices(stack, n0, n)


class Exact(OwnStackCase):
    """One worker (every request meets the same cache), default TTL (1 s): an entry
    that outlives it shows there is no time window any more."""

    stack_kwargs = dict(workers=1)

    @classmethod
    def fixtures(cls, stack):
        enable_statement_counts(stack)
        insert_courses(stack, [
            dict(id=C1, gen_status="generating", meta={"last_phase": "sections",
                                                       "batch_count": 2}),
            dict(id=C2, gen_status="completed", meta={"total_lessons": 5}),
            dict(id=C3, gen_status="queued"),
            dict(id=C4, gen_status="queued", org=REVOKE_ORG),
            dict(id=C5, gen_status="queued"),
            dict(id=C_HITS, gen_status="completed", meta={"total_lessons": 7},
                 org=HIT_ORG),
            dict(id=C_ETA, gen_status="generating", meta={"last_phase": "sections",
                                                          "batch_count": 0}),
            dict(id=C_PLAIN, gen_status="queued"),
            dict(id=C_DEL, gen_status="queued"),
            dict(id=C_OWNER, gen_status="queued"),
            dict(id=C_ORGCH, gen_status="queued"),
            dict(id=C_API),
            dict(id=C_TERM, gen_status="queued"),
            dict(id=C_RESTART, gen_status="queued"),
            dict(id=C_SILENT, gen_status="queued"),
            dict(id=cid("cache/grant"), gen_status="queued", org=GRANT_ORG),
        ] + [dict(id=c, gen_status="generating", meta={"last_phase": "metadata"})
             for c in C_BULK])
        add_member(stack, REVOKEE, REVOKE_ORG)
        add_member(stack, HIT_MEMBER, HIT_ORG)

    def status(self, course, user=OWNER):
        return self.ok_data(self.status_of(course, user))["status"]

    def assert_statements(self, before, n, what):
        self.assertEqual(statements(self.stack) - before, n, what)

    # -- isolation (doc/decisions.md, D15): the decision is taken for each user

    def test_1_owner_then_outsider_then_member(self):
        d = self.ok_data(self.status_of(C1, OWNER))
        self.assertEqual(d["status"], "generating")
        resp = self.status_of(C1, OUTSIDER)
        self.assert_error(resp, 403, "FORBIDDEN", MSG_FORBIDDEN)
        self.assertNotIn(b"generating", resp.body)
        self.assert_error(self.get(target(self.stack, input={"courseId": C1})), 401,
                          "UNAUTHORIZED", MSG_UNAUTH)
        d = self.ok_data(self.status_of(C1, MEMBER))
        self.assertEqual(d["status"], "generating")
        self.assert_error(self.status_of(C1, OUTSIDER), 403, "FORBIDDEN", MSG_FORBIDDEN)

    def test_2_outsider_first_then_owner(self):
        self.assert_error(self.status_of(C2, OUTSIDER), 403, "FORBIDDEN", MSG_FORBIDDEN)
        d = self.ok_data(self.status_of(C2, OWNER))
        self.assertEqual(d["metadata"], {"totalLessons": 5})
        self.ok_data(self.status_of(C2, MEMBER))
        self.assert_error(self.status_of(C2, OUTSIDER), 403, "FORBIDDEN", MSG_FORBIDDEN)

    def test_3_batch_of_cached_courses_for_an_outsider(self):
        self.ok_data(self.status_of(C1, OWNER))
        self.ok_data(self.status_of(C5, OWNER))
        resp = self.get(target(self.stack, [PROC, PROC], batch=True,
                               input=batch_input({"courseId": C1}, {"courseId": C5})),
                        bearer(token(self.stack, OUTSIDER)))
        self.assertEqual(resp.status, 403, resp)
        for item in resp.json():
            self.assert_error_obj(item["error"], 403, "FORBIDDEN", MSG_FORBIDDEN)

    # -- hits and misses, counted in the database

    def test_4_hits_cost_no_statement(self):
        s0 = statements(self.stack)
        first = self.status_of(C_HITS, OWNER)
        self.ok_data(first)
        self.assert_statements(s0, 1, "the first poll reads the row")
        for _ in range(5):
            again = self.status_of(C_HITS, OWNER)
            self.assertEqual(again.body, first.body)
        self.assert_statements(s0, 1, "polls of an unchanged course are hits")
        # a member: one read for the membership verdict, then hits
        self.ok_data(self.status_of(C_HITS, HIT_MEMBER))
        self.ok_data(self.status_of(C_HITS, HIT_MEMBER))
        self.assert_statements(s0, 2, "a member's verdict is read once")
        # an outsider likewise, refused each time
        for _ in range(2):
            self.assert_error(self.status_of(C_HITS, OUTSIDER), 403, "FORBIDDEN",
                              MSG_FORBIDDEN)
        self.assert_statements(s0, 3, "an outsider's verdict is read once")
        # a write that changes nothing the answer reads sends nothing: still hits
        self.stack.psql("UPDATE courses SET title = 'renamed' WHERE id = '%s';" % C_HITS)
        self.assertEqual(self.status_of(C_HITS, OWNER).body, first.body)
        self.assert_statements(s0, 3, "a title change is not a change of the answer")
        m = metrics_text(self.stack)
        self.assertGreaterEqual(metric(self.stack, m, 'coursegen_cache_requests_total'
                                       '{cache="status",result="hit"}'), 8)
        self.assertEqual(metric(self.stack, m, 'coursegen_cache_mode{mode="exact"}'), 1)

    def test_5_eta_live_on_hits(self):
        # started 10 s ago, sections 0/8 (progress 10): the ETA grows with the clock
        set_row(self.stack, C_ETA, "created_at = now() - interval '10 seconds'")
        d0 = self.ok_data(self.status_of(C_ETA))
        s0 = statements(self.stack)
        deadline = time.monotonic() + 30
        while True:
            d = self.ok_data(self.status_of(C_ETA))
            # 9 s of ETA per second: 2 s of the database clock have passed, which is
            # more than the 1 s TTL, and no statement was needed
            if d["estimatedRemainingSeconds"] >= d0["estimatedRemainingSeconds"] + 18:
                break
            self.assertLess(time.monotonic(), deadline, d)
            time.sleep(0.05)
        self.assert_statements(s0, 0, "the ETA is computed again on each hit")
        self.assertEqual({k: v for k, v in d.items() if k != "estimatedRemainingSeconds"},
                         {k: v for k, v in d0.items() if k != "estimatedRemainingSeconds"})

    # -- invalidation by each kind of writer, visible on the very next poll

    def test_6_plain_update(self):
        self.assertEqual(self.status(C_PLAIN), "queued")
        self.assertEqual(self.status(C_PLAIN), "queued")
        set_row(self.stack, C_PLAIN, "generation_status = 'cancelled'")
        self.assertEqual(self.status(C_PLAIN), "cancelled")
        # updated_at alone is an answer too (lastUpdatedAt)
        d0 = self.ok_data(self.status_of(C_PLAIN))
        set_row(self.stack, C_PLAIN, "updated_at = '2026-01-02T03:04:05Z'")
        d = self.ok_data(self.status_of(C_PLAIN))
        self.assertNotEqual(d["lastUpdatedAt"], d0["lastUpdatedAt"])
        self.assertEqual(d["lastUpdatedAt"], "2026-01-02T03:04:05.000Z")

    def test_7_bulk_update(self):
        for c in (C_BULK[0], C_BULK[150], C_BULK[-1]):
            self.assertEqual(self.ok_data(self.status_of(c))["phase"], "metadata")
        write(self.stack, "UPDATE courses SET generation_metadata = "
              "'{\"last_phase\": \"validation\"}' WHERE id IN (%s);"
              % ",".join("'%s'" % c for c in C_BULK), n=len(C_BULK))  # one a row
        for c in (C_BULK[0], C_BULK[150], C_BULK[-1]):
            self.assertEqual(self.ok_data(self.status_of(c))["phase"], "validation")

    def test_8_delete(self):
        self.assertEqual(self.status(C_DEL), "queued")
        write(self.stack, "DELETE FROM courses WHERE id = '%s';" % C_DEL)
        self.assert_error(self.status_of(C_DEL), 404, "NOT_FOUND", MSG_NOT_FOUND)

    def test_9_membership_revoked_and_granted(self):
        self.ok_data(self.status_of(C4, REVOKEE))
        self.ok_data(self.status_of(C4, REVOKEE))
        n0 = notices(self.stack)
        remove_member(self.stack, REVOKEE, REVOKE_ORG)
        wait_notices(self.stack, n0)
        self.assert_error(self.status_of(C4, REVOKEE), 403, "FORBIDDEN", MSG_FORBIDDEN)
        self.assert_error(self.status_of(C4, REVOKEE), 403, "FORBIDDEN", MSG_FORBIDDEN)
        n0 = notices(self.stack)
        add_member(self.stack, REVOKEE, REVOKE_ORG)
        wait_notices(self.stack, n0)
        self.ok_data(self.status_of(C4, REVOKEE))
        # a grant to someone refused before
        gc = cid("cache/grant")
        self.assert_error(self.status_of(gc, GRANTEE), 403, "FORBIDDEN", MSG_FORBIDDEN)
        n0 = notices(self.stack)
        add_member(self.stack, GRANTEE, GRANT_ORG)
        wait_notices(self.stack, n0)
        self.ok_data(self.status_of(gc, GRANTEE))
        # a membership moved to another organization (UPDATE of the pair)
        write(self.stack, "UPDATE user_organizations SET organization_id = '%s' "
              "WHERE user_id = '%s' AND organization_id = '%s';"
              % (OTHER_ORG, GRANTEE, GRANT_ORG))
        self.assert_error(self.status_of(gc, GRANTEE), 403, "FORBIDDEN", MSG_FORBIDDEN)

    def test_10_owner_and_organization_change(self):
        self.assertEqual(self.status(C_OWNER, OWNER), "queued")
        self.assert_error(self.status_of(C_OWNER, OUTSIDER), 403, "FORBIDDEN",
                          MSG_FORBIDDEN)
        set_row(self.stack, C_OWNER, "user_id = '%s', organization_id = NULL" % OUTSIDER)
        self.assertEqual(self.status(C_OWNER, OUTSIDER), "queued")
        self.assert_error(self.status_of(C_OWNER, OWNER), 403, "FORBIDDEN", MSG_FORBIDDEN)
        # organization: a member of ORG loses access when the course moves away
        self.assertEqual(self.status(C_ORGCH, MEMBER), "queued")
        set_row(self.stack, C_ORGCH, "organization_id = '%s'" % REVOKE_ORG)
        self.assert_error(self.status_of(C_ORGCH, MEMBER), 403, "FORBIDDEN",
                          MSG_FORBIDDEN)
        self.assertEqual(self.status(C_ORGCH, REVOKEE), "queued")

    def test_11_worker_api(self):
        self.assertEqual(self.status(C_API), "idle")
        n0 = notices(self.stack)
        sim = self.stack.simulate(["%s:complete" % C_API], "--pace", "20",
                                  "--batches", "2")
        self.assertEqual(sim.wait(60), 0, sim.log_text())
        wait_notices(self.stack, n0, len(sim.calls()))  # one UPDATE a call
        d = self.ok_data(self.status_of(C_API))
        self.assertEqual((d["status"], d["progress"]), ("completed", 100))

    # -- lost connections: everything is forgotten

    def test_12_silent_write_stays_cached(self):
        # The control for the next two tests: a write that sends no notification
        # (triggers off) is not seen, so the entry really is served from the cache.
        self.assertEqual(self.status(C_SILENT), "queued")
        set_row(self.stack, C_SILENT, "generation_status = 'failed'", silent=True)
        self.assertEqual(self.status(C_SILENT), "queued")

    def test_13_backend_terminated(self):
        self.assertEqual(self.status(C_TERM), "queued")
        n = self.stack.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE usename = '%s';" % SERVICE_ROLE).strip()
        self.assertEqual(n, "1")
        set_row(self.stack, C_TERM, "generation_status = 'failed'", silent=True)
        self.assertEqual(self.status(C_TERM), "failed")
        set_row(self.stack, C_TERM, "generation_status = 'queued'")
        self.assertEqual(self.status(C_TERM), "queued")

    def test_14_database_restarted(self):
        self.assertEqual(self.status(C_RESTART), "queued")
        self.stack.pg.stop()
        self.stack.pg.start()
        set_row(self.stack, C_RESTART, "generation_status = 'failed'", silent=True)
        self.assertEqual(self.status(C_RESTART), "failed")
        set_row(self.stack, C_RESTART, "generation_status = 'cancelled'")
        self.assertEqual(self.status(C_RESTART), "cancelled")
        self.assertGreaterEqual(metric(self.stack, metrics_text(self.stack),
                                       "coursegen_cache_flushes_total"), 2)

    def test_15_idle_worker_keeps_draining(self):
        # A listener whose socket is full holds back the server's notification
        # queue. 3,000 notifications of 7.9 kB (24 MB, more than the socket buffers
        # hold) while no request arrives: the worker's backend must get back to
        # waiting for the next query (ClientRead), not stay blocked writing to the
        # worker (ClientWrite); the idle accept loop drains them.
        self.assertEqual(self.status(C_HITS), "completed")   # connected, listening
        n0 = notices(self.stack)
        self.stack.psql("SELECT count(pg_notify('coursegen_status', 'bulk' || g || "
                        "repeat('x', 7900))) FROM generate_series(1, 3000) g;")
        deadline = time.monotonic() + 60
        while True:
            ev = self.stack.psql("SELECT coalesce(wait_event, '') FROM pg_stat_activity "
                                 "WHERE usename = '%s' AND backend_type = 'client backend';"
                                 % SERVICE_ROLE).split()
            if ev == ["ClientRead"]:
                break
            self.assertLess(time.monotonic(), deadline, "the worker's backend: %r" % ev)
            time.sleep(0.05)
        # and every one of them reaches the worker (unknown payloads: each flushes)
        wait_notices(self.stack, n0, 3000)

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


PHASES = [None, "metadata", "sections", "validation", "saving"]
STATUSES = ["queued", "generating", "completed"]


class SeveralWorkers(OwnStackCase):
    """Four spawn-fcgi workers (no master, no shared memory) behind nginx, the simulator
    at a fast pace, clients polling through nginx: what one poll showed, no later poll
    takes back, whichever worker answers."""

    stack_kwargs = dict(workers=4, mode="spawn-fcgi")
    COURSES = [cid("cache/several-%d" % i) for i in range(3)]

    @classmethod
    def fixtures(cls, stack):
        enable_statement_counts(stack)
        insert_courses(stack, [dict(id=c) for c in cls.COURSES])

    def follow(self, course, stop, seen):
        """Poll on one kept-alive connection to nginx (it hands each request to
        whichever worker accepts first) until the course is completed."""
        u = urllib.parse.urlsplit(self.stack.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        hdrs = bearer(token(self.stack, OWNER))
        path = target(self.stack, input={"courseId": course})
        try:
            while not stop.is_set():
                conn.request("GET", path, headers=hdrs)
                r = conn.getresponse()
                body = r.read()
                self.assertEqual(r.status, 200, body)
                d = json.loads(body)["result"]["data"]
                seen.append(d)
                if d["status"] == "completed":
                    return
        finally:
            conn.close()

    def test_progress_never_goes_back(self):
        s0 = statements(self.stack)
        sim = self.stack.simulate(["%s:complete" % c for c in self.COURSES],
                                  "--pace", "100", "--batches", "6", "--stagger", "40",
                                  "--seed", "35", "--quiet")
        stop = threading.Event()
        seen = {c: [] for c in self.COURSES}
        errors = []

        def run(c):
            try:
                self.follow(c, stop, seen[c])
            except BaseException as e:  # reported below
                errors.append(e)
                stop.set()

        threads = [threading.Thread(target=run, args=(c,)) for c in self.COURSES]
        for t in threads:
            t.start()
        try:
            self.assertEqual(sim.wait(120), 0, sim.log_text())
        finally:
            for t in threads:
                t.join(60)
            stop.set()
        if errors:
            raise errors[0]
        polls = 0
        for c, obs in seen.items():
            polls += len(obs)
            self.assertEqual(obs[-1]["status"], "completed", c)
            key = [(STATUSES.index(d["status"]) if d["status"] in STATUSES else -1,
                    PHASES.index(d["phase"]), d["progress"], d["lastUpdatedAt"])
                   for d in obs if d["status"] != "queued"]
            for i, (a, b) in enumerate(zip(key, key[1:])):
                self.assertLessEqual(a[:3], b[:3], "went back on %s: %r then %r, in\n%s" % (
                    c, a, b, "\n".join(repr(k) for k in key[max(0, i - 5):i + 5])))
                self.assertLessEqual(a[3], b[3], "lastUpdatedAt went back on %s" % c)
            self.assertGreater(len(set(k[2] for k in key)), 3, "too few states seen")
        # most polls were hits (each change costs each worker at most one read)
        used = statements(self.stack) - s0
        self.assertLess(used * 2, polls, "%d statements for %d polls" % (used, polls))

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class BehindPgBouncer(OwnStackCase):
    """PgBouncer in transaction mode cannot carry LISTEN: the service notices, says so
    once in its log, in /metrics and in the health answer, and falls back to entries
    that expire after CACHE_TTL_MS."""

    TTL_MS = 1500
    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": str(TTL_MS)})
    C = cid("cache/pgbouncer")

    @classmethod
    def fixtures(cls, stack):
        enable_statement_counts(stack)
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])
        cls.bouncer = PgBouncer(stack.root + "/pgbouncer", stack.pg, pool=2)
        cls.addClassCleanup(cls.bouncer.stop)
        stack.restart_service(env={"DATABASE_URL": cls.bouncer.dsn(), "DB_PREPARE": "0"})

    def test_ttl_fallback(self):
        s0 = statements(self.stack)
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")
        self.assertEqual(statements(self.stack) - s0, 1, "the second poll is a hit")
        from e2e.common import request
        health = request(self.stack, "GET", "/healthz")
        self.assertEqual((health.status, health.json()), (200, {"status": "ok",
                                                                "cache": "ttl"}))
        m = metrics_text(self.stack)
        self.assertEqual(metric(self.stack, m, 'coursegen_cache_mode{mode="ttl"}'), 1)
        log = self.stack.service_log()
        self.assertEqual(log.count("no change notifications (a connection pooler is in "
                                   "between)"), 1, log)
        self.stack.psql("UPDATE courses SET generation_status = 'failed' WHERE id = '%s';"
                        % self.C)
        eventually_status(self, self.C, "failed")

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class WithoutTriggers(OwnStackCase):
    """sql/006-notify.sql not applied, or one of its triggers disabled: LISTEN would
    hold, but nothing would ever invalidate an entry. The service checks the triggers
    on each connection and falls back to the TTL mode until they are there."""

    TTL_MS = 1500
    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": str(TTL_MS)})
    C = cid("cache/no-triggers")

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])
        stack.psql("ALTER TABLE courses DISABLE TRIGGER coursegen_notify_update;")
        stack.restart_service()

    def health(self):
        from e2e.common import request
        resp = request(self.stack, "GET", "/healthz")
        self.assertEqual(resp.status, 200)
        return resp.json()["cache"]

    def test_ttl_until_the_triggers_are_back(self):
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")
        self.assertEqual(self.health(), "ttl")
        log = self.stack.service_log()
        self.assertIn("no change notifications (the triggers of sql/006-notify.sql "
                      "are missing)", log)
        # The write sends no notification, and the entry still expires.
        self.stack.psql("UPDATE courses SET generation_status = 'failed' WHERE id = '%s';"
                        % self.C)
        eventually_status(self, self.C, "failed")
        # Triggers back, the worker's next connection is exact again.
        self.stack.psql("ALTER TABLE courses ENABLE TRIGGER coursegen_notify_update;")
        self.stack.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE usename = '%s';" % SERVICE_ROLE)
        deadline = time.monotonic() + 30
        while self.health() != "exact":
            self.assertLess(time.monotonic(), deadline, "never exact again")
            time.sleep(0.05)

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


class Standby(Postgres):
    """A hot standby made by pg_basebackup from `primary` (streaming replication)."""

    def _pm_status(self):
        st = super()._pm_status()
        return "ready" if st == "standby" else st

    def create_from(self, primary):
        os.makedirs(self.root, exist_ok=True)
        user = _user_kwargs(self.os_user)
        if self.os_user:
            os.chown(self.root, user["user"], user["group"])
        p = _run_group([os.path.join(self.bindir, "pg_basebackup"), "-h", primary.sockdir,
                        "-p", str(primary.port), "-U", "postgres", "-D", self.data,
                        "-X", "stream", "--no-sync", "-c", "fast"], 120, self.os_user)
        if p.returncode != 0:
            raise AssertionError("pg_basebackup failed: %s" % p.stderr)
        os.makedirs(self.sockdir, mode=0o700, exist_ok=True)
        if self.os_user:
            os.chown(self.sockdir, user["user"], user["group"])
        self._write_conf()
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("primary_conninfo = 'host=%s port=%d user=postgres'\n"
                    % (primary.sockdir, primary.port))
        open(os.path.join(self.data, "standby.signal"), "w").close()
        self.passwords = dict(primary.passwords)
        return self.start()


class OnAHotStandby(OwnStackCase):
    """A hot standby refuses LISTEN and gets no notifications: the workers connected to
    one fall back to the TTL mode; once a reconnection lands on the primary (the
    standby stopped, libpq's next host) they are exact again."""

    TTL_MS = 1500
    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": str(TTL_MS)})
    C = cid("cache/standby")

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=cls.C, gen_status="queued")])
        pg = stack.pg
        with open(os.path.join(pg.data, "pg_hba.conf"), "a") as f:
            f.write("local replication postgres trust\n")
        pg.psql("SELECT pg_reload_conf()")
        cls.standby = Standby(os.path.join(stack.root, "standby")).create_from(pg)
        cls.addClassCleanup(cls.standby.close)
        both = ("postgresql://%s:%s@127.0.0.1:%d,127.0.0.1:%d/%s?target_session_attrs="
                "prefer-standby" % (SERVICE_ROLE, pg.passwords[SERVICE_ROLE],
                                    cls.standby.port, pg.port, pg.dbname))
        stack.restart_service(env={"DATABASE_URL": both})

    def health(self):
        from e2e.common import request
        resp = request(self.stack, "GET", "/healthz")
        self.assertEqual(resp.status, 200, resp)
        return resp.json()["cache"]

    def test_ttl_on_the_standby_exact_after_failover(self):
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "queued")
        self.assertEqual(self.health(), "ttl")
        self.assertEqual(metric(self.stack, metrics_text(self.stack),
                                'coursegen_cache_mode{mode="ttl"}'), 1)
        self.assertIn("no change notifications (a hot standby)", self.stack.service_log())
        # a change on the primary shows once replayed and the TTL has passed
        self.stack.psql("UPDATE courses SET generation_status = 'failed' WHERE id = '%s';"
                        % self.C)
        deadline = time.monotonic() + 30
        while self.ok_data(self.status_of(self.C))["status"] != "failed":
            self.assertLess(time.monotonic(), deadline, "never saw the change")
            time.sleep(0.1)
        # the standby goes away: the next connection is to the primary, exact again
        self.standby.stop()
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "failed")
        self.assertEqual(self.health(), "exact")
        set_row(self.stack, self.C, "generation_status = 'cancelled'")
        self.assertEqual(self.ok_data(self.status_of(self.C))["status"], "cancelled")

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
