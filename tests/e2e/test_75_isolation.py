"""Isolation (issue 4): many users and organizations, every (user, course) pair asked
concurrently with the cache on (single calls and batches, over two workers, twice, the second
round largely from the caches), each answer checked against the authorization rule computed
in SQL; a revoked membership is never honoured again by any worker once the workers have
applied its change notification, while it is being polled (README, "The status cache"); the
service's own database credentials cannot write (tried for real, not only read from the
catalog as test_70 does).

The stack is a pool: its /metrics is the sum over the workers, so the notifications every
worker has applied can be counted (write_and_wait); spawn-fcgi workers count apart."""

import random
import subprocess
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

from e2e.common import (OwnStackCase, PROC, bearer, lit, target, token, write_and_wait,
                        MSG_FORBIDDEN, MSG_NOT_FOUND)

NS = uuid.UUID("9b0e6a1c-3f0d-4c1e-8a57-6d2b8f9e7a10")
USERS = [str(uuid.uuid5(NS, "user/%d" % i)) for i in range(14)]
ORGS = [str(uuid.uuid5(NS, "org/%d" % i)) for i in range(5)]
STATUSES = [None, "queued", "generating", "completed", "failed", "cancelled"]


def build_world(seed=75):
    rnd = random.Random(seed)
    members = set()
    for u in USERS[:-2]:          # the last two users belong to no organization
        for o in rnd.sample(ORGS, rnd.randint(0, 3)):
            members.add((u, o))
    courses = []
    for i in range(30):
        courses.append(dict(id=str(uuid.uuid5(NS, "course/%d" % i)),
                            owner=rnd.choice(USERS),
                            org=rnd.choice(ORGS + [None, None]),
                            status=STATUSES[i % len(STATUSES)]))
    missing = [str(uuid.uuid5(NS, "missing/%d" % i)) for i in range(2)]
    return members, courses, missing


class Isolation(OwnStackCase):

    stack_kwargs = dict(workers=2, mode="pool")

    @classmethod
    def fixtures(cls, stack):
        members, courses, missing = build_world()
        cls.courses = courses
        cls.course_ids = [c["id"] for c in courses] + missing
        # the tests start once every worker has applied the fixtures' two notifications
        write_and_wait(
            stack,
            "INSERT INTO user_organizations (user_id, organization_id) VALUES %s;\n"
            "INSERT INTO courses (id, user_id, organization_id, title, generation_status) "
            "VALUES %s;" % (
                ",".join("(%s,%s)" % (lit(u), lit(o)) for u, o in sorted(members)),
                ",".join("(%s,%s,%s,%s,%s)" % (lit(c["id"]), lit(c["owner"]), lit(c["org"]),
                                               lit("iso"), lit(c["status"])) for c in courses)),
            per_listener=2)
        cls.expected = cls.expected_from_sql(stack)
        cls.status_of_course = {c["id"]: c["status"] or "idle" for c in courses}

    @classmethod
    def expected_from_sql(cls, stack):
        """The rule of the contract (section 3.2) written independently in SQL: the owner, or
        a member of the course's organization; NOT_FOUND when there is no such course."""
        rows = stack.psql(
            "WITH u(user_id) AS (VALUES %s), k(id) AS (VALUES %s)\n"
            "SELECT u.user_id, k.id, CASE\n"
            "  WHEN c.id IS NULL THEN 'NOT_FOUND'\n"
            "  WHEN c.user_id = u.user_id THEN 'OK'\n"
            "  WHEN c.organization_id IS NOT NULL AND EXISTS (SELECT 1 FROM user_organizations m"
            "       WHERE m.user_id = u.user_id AND m.organization_id = c.organization_id)"
            "  THEN 'OK'\n"
            "  ELSE 'FORBIDDEN' END\n"
            "FROM u CROSS JOIN k LEFT JOIN courses c ON c.id = k.id;" % (
                ",".join("(%s::uuid)" % lit(u) for u in USERS),
                ",".join("(%s::uuid)" % lit(k) for k in cls.course_ids)))
        out = {}
        for line in rows.splitlines():
            u, k, verdict = line.split("|")
            out[(u, k)] = verdict
        return out

    def check_call(self, user, course, status, err_or_data):
        want = self.expected[(user, course)]
        ctx = "user %s course %s: want %s" % (user, course, want)
        if want == "OK":
            self.assertEqual(status, 200, ctx)
            self.assert_data_shape(err_or_data)
            self.assertEqual(err_or_data["courseId"], course, ctx)
            self.assertEqual(err_or_data["status"], self.status_of_course[course], ctx)
        elif want == "FORBIDDEN":
            self.assertEqual(status, 403, ctx)
            self.assert_error_obj(err_or_data, 403, "FORBIDDEN", MSG_FORBIDDEN, PROC)
        else:
            self.assertEqual(status, 404, ctx)
            self.assert_error_obj(err_or_data, 404, "NOT_FOUND", MSG_NOT_FOUND, PROC)

    def one(self, user, tok, course):
        resp = self.get(target(self.stack, input={"courseId": course}), bearer(tok))
        body = resp.json()
        return user, course, resp.status, (body["result"]["data"] if "result" in body
                                           else body["error"])

    def batch(self, user, tok, courses):
        inp = {str(i): {"courseId": c} for i, c in enumerate(courses)}
        resp = self.get(target(self.stack, [PROC] * len(courses), batch=True, input=inp),
                        bearer(tok))
        body = resp.json()
        self.assertEqual(len(body), len(courses))
        out = []
        for c, item in zip(courses, body):
            if "result" in item:
                out.append((user, c, 200, item["result"]["data"]))
            else:
                out.append((user, c, item["error"]["data"]["httpStatus"], item["error"]))
        statuses = {o[2] for o in out}
        self.assertEqual(resp.status, statuses.pop() if len(statuses) == 1 else 207)
        return out

    def test_1_every_pair_concurrently(self):
        verdicts = set(self.expected.values())
        self.assertEqual(verdicts, {"OK", "FORBIDDEN", "NOT_FOUND"})
        self.assertGreater(sum(1 for v in self.expected.values() if v == "OK"), 60)
        tokens = {u: token(self.stack, u) for u in USERS}
        pairs = [(u, c) for u in USERS for c in self.course_ids]
        rnd = random.Random(7)
        answers = []
        # two rounds with no write between them: the second is served largely from the
        # caches the first filled, for other users than the ones that filled them
        with ThreadPoolExecutor(max_workers=8) as ex:
            for _ in range(2):
                rnd.shuffle(pairs)
                futs = [ex.submit(self.one, u, tokens[u], c) for u, c in pairs]
                # and every user's whole list as batches, interleaved with the singles
                for u in USERS:
                    ids = self.course_ids[:]
                    rnd.shuffle(ids)
                    futs.append(ex.submit(self.batch, u, tokens[u], ids))
                for f in futs:
                    r = f.result()
                    answers.extend(r if isinstance(r, list) else [r])
        self.assertEqual(len(answers), 2 * 2 * len(pairs))
        for user, course, status, obj in answers:
            self.check_call(user, course, status, obj)
        self.assertEqual(len(self.stack.service.alive_pids()), 2)

    def test_2_revocation_reaches_every_worker(self):
        # a member (not the owner) of an organization with a course
        target_pair = None
        for c in self.courses:
            if c["org"] is None:
                continue
            for u in USERS:
                if u != c["owner"] and self.expected[(u, c["id"])] == "OK":
                    target_pair = (u, c)
                    break
            if target_pair:
                break
        self.assertIsNotNone(target_pair)
        user, course = target_pair
        tok = token(self.stack, user)
        owner_tok = token(self.stack, course["owner"])
        tgt = target(self.stack, input={"courseId": course["id"]})
        for _ in range(6):   # warm both workers' caches
            self.assertEqual(self.get(tgt, bearer(tok)).status, 200)
            self.assertEqual(self.get(tgt, bearer(owner_tok)).status, 200)
        # each poll is recorded with the phase it started in: before the DELETE was sent,
        # while it was on its way, or once every worker had applied its notification
        BEFORE, REVOKING, APPLIED = range(3)
        phase = [BEFORE]
        stop = threading.Event()
        seen = []   # (phase at the poll's start, status)
        lock = threading.Lock()
        errors = []

        def poll():
            try:
                while not stop.is_set():
                    started = phase[0]
                    s = self.get(tgt, bearer(tok)).status
                    with lock:
                        seen.append((started, s))
                    # the owner keeps the course's status cached meanwhile
                    self.get(tgt, bearer(owner_tok))
            except BaseException as e:  # reported below
                errors.append(e)

        def count(p):
            with lock:
                return sum(1 for ph, _ in seen if ph == p)

        def wait_polls(p, n):
            deadline = time.monotonic() + 60
            while count(p) < n and not errors:
                if time.monotonic() > deadline:
                    raise AssertionError("only %d polls in phase %d" % (count(p), p))
                time.sleep(0.01)

        threads = [threading.Thread(target=poll) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_polls(BEFORE, 8)
            phase[0] = REVOKING
            write_and_wait(self.stack, "DELETE FROM user_organizations WHERE user_id = %s "
                           "AND organization_id = %s;" % (lit(user), lit(course["org"])))
            phase[0] = APPLIED
            wait_polls(APPLIED, 40)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            self.stack.psql("INSERT INTO user_organizations (user_id, organization_id) "
                            "VALUES (%s, %s);" % (lit(user), lit(course["org"])))
        self.assertEqual(errors, [])
        self.assertEqual({s for _, s in seen} - {200, 403}, set(), seen[:20])
        self.assertEqual({s for ph, s in seen if ph == BEFORE}, {200})
        applied = [s for ph, s in seen if ph == APPLIED]
        self.assertGreaterEqual(len(applied), 40)
        self.assertEqual(applied.count(200), 0,
                         "a revoked membership was honoured after every worker had applied "
                         "its notification: %d of %d polls" % (applied.count(200), len(applied)))
        self.assertEqual(set(applied), {403})

    def test_3_service_role_cannot_write(self):
        url = self.stack.service_env["DATABASE_URL"]
        some = self.courses[0]["id"]
        attempts = {
            "INSERT courses": "INSERT INTO courses (user_id) VALUES (gen_random_uuid());",
            "UPDATE courses": "UPDATE courses SET generation_status = 'completed' "
                              "WHERE id = '%s';" % some,
            "DELETE courses": "DELETE FROM courses WHERE id = '%s';" % some,
            "TRUNCATE courses": "TRUNCATE courses;",
            "INSERT membership": "INSERT INTO user_organizations (user_id, organization_id) "
                                 "VALUES (gen_random_uuid(), gen_random_uuid());",
            "DELETE membership": "DELETE FROM user_organizations;",
            "ALTER courses": "ALTER TABLE courses ADD COLUMN x int;",
            "DROP courses": "DROP TABLE courses;",
            "CREATE TABLE": "CREATE TABLE public.evil (x int);",
            "CREATE FUNCTION": "CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql "
                               "AS 'SELECT 1';",
            "read a column it does not need": "SELECT title FROM courses LIMIT 1;",
            "SELECT *": "SELECT * FROM courses LIMIT 1;",
            "become superuser": "SET ROLE postgres;",
            "read server files": "SELECT pg_read_file('postgresql.conf');",
            "run a program": "COPY courses (id) FROM PROGRAM 'true';",
            "grant itself": "GRANT INSERT ON courses TO coursegen_status;",
        }
        before = self.stack.psql("SELECT count(*), md5(string_agg(id::text || "
                                 "coalesce(generation_status, ''), ',' ORDER BY id)) "
                                 "FROM courses;")
        for name, sql in attempts.items():
            with self.subTest(attempt=name):
                p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                    "-d", url, "-c", sql],
                                   capture_output=True, text=True, timeout=30)
                self.assertNotEqual(p.returncode, 0, "%s succeeded: %s" % (name, p.stdout))
                self.assertRegex(p.stderr, r"permission denied|must be owner|must be "
                                           r"superuser|only superuser", p.stderr)
        # the connection itself works: the statement the service needs is allowed
        p = subprocess.run(["psql", "-X", "-q", "-At", "-d", url, "-c",
                            "SELECT id, generation_status FROM courses WHERE id = '%s';" % some],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(some, p.stdout)
        after = self.stack.psql("SELECT count(*), md5(string_agg(id::text || "
                                "coalesce(generation_status, ''), ',' ORDER BY id)) "
                                "FROM courses;")
        self.assertEqual(before, after)

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
