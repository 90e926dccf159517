"""The three deployments answer alike, byte for byte (issue 3).

One database, four fronts:
  nginx   -> spawn-fcgi's workers, the socket on fd 0 (the standard way);
  nginx   -> the service's own standalone pool (coursegen-status --listen, master +
             workers), with the shipped nginx config;
  Apache  -> mod_fcgid, the service on the socket in fd 0 (no master), with the shipped
             apache/coursegen-status-fcgid.conf;
  Apache  -> mod_cgi, one process per request, with apache/coursegen-status-cgi.conf.
Every request of a table goes to all four; status, body and the service's headers
must be identical. A few calls are also checked for their meaning, so that three
identical wrong answers cannot pass.
"""

import os
import unittest

from e2e.common import (OWNER, OUTSIDER, ORG, PROC, batch_input, bearer, cid, dumps,
                        insert_courses, request, start_stack, stop_stack, target, token)
from apache import Apache, Pool

STACK = None
FRONTS = {}
SPAWN_ANSWERS = {}

C_DONE = cid("modes-completed")
C_FAIL = cid("modes-failed")
C_QUEUED = cid("modes-queued")
C_GEN = cid("modes-generating")
C_OTHER = cid("modes-other-owner")
C_MISSING = cid("modes-missing")

SERVICE_HEADERS = ("content-type", "vary", "cache-control", "x-content-type-options",
                   "allow")


class Front:
    """What common.request() needs: a base URL and the tRPC base path."""
    base = "/trpc"

    def __init__(self, name, url):
        self.name = name
        self.url = url


def setUpModule():
    global STACK
    STACK = start_stack(workers=2, mode="spawn-fcgi")
    try:
        insert_courses(STACK, [
            dict(id=C_DONE, gen_status="completed",
                 meta={"total_lessons": 24, "total_sections": 8, "cost_usd": 0.28,
                       "duration_ms": {"total": 150000},
                       "quality_scores": {"overall": 0.88}}),
            dict(id=C_FAIL, gen_status="failed",
                 meta={"last_phase": "sections", "last_progress": 35,
                       "error_message": "Token budget exceeded", "retryable": True}),
            dict(id=C_QUEUED, gen_status="queued"),
            dict(id=C_GEN, gen_status="generating",
                 meta={"last_phase": "sections", "batch_count": 3, "total_batches": 8}),
            dict(id=C_OTHER, gen_status="completed", owner=OUTSIDER, org=None),
        ])
        env = STACK._service_env()
        # The spawn-fcgi answers first, then nginx talks to the standalone pool.
        FRONTS["spawn"] = (Front("nginx+spawn-fcgi", STACK.url), None)
        SPAWN_ANSWERS.update({c[0]: answer(FRONTS["spawn"][0], *c[1:]) for c in cases()})
        sock = STACK.service.sock
        STACK.service.stop()
        pool = Pool(os.path.join(STACK.root, "pool"), sock, env, workers=2).start()
        FRONTS["pool"] = (Front("nginx+pool", STACK.url), pool)
        for mode in ("fcgid", "cgi"):
            ap = Apache(os.path.join(STACK.root, "apache-" + mode), mode, env).start()
            FRONTS[mode] = (Front("apache+" + mode, "http://127.0.0.1:%d" % ap.port), ap)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    for _front, proc in FRONTS.values():
        if proc is not None:
            proc.close()
    FRONTS.clear()
    if STACK is not None:
        stop_stack(STACK)


def cases():
    """(name, method, target, headers, body) for the comparison table."""
    t_owner = bearer(token(STACK, OWNER))
    t_out = bearer(token(STACK, OUTSIDER))
    one = lambda c: target(STACK, input={"courseId": c})
    json_ct = {"Content-Type": "application/json"}
    return [
        ("completed", "GET", one(C_DONE), t_owner, None),
        ("failed", "GET", one(C_FAIL), t_owner, None),
        ("queued", "GET", one(C_QUEUED), t_owner, None),
        ("upper-case id", "GET", one(C_DONE.upper()), t_owner, None),
        ("forbidden", "GET", one(C_OTHER), t_owner, None),
        ("not found", "GET", one(C_MISSING), t_owner, None),
        ("no token", "GET", one(C_DONE), {}, None),
        ("other user", "GET", one(C_DONE), t_out, None),
        ("bad uuid", "GET", target(STACK, input={"courseId": "x"}), t_owner, None),
        ("no input", "GET", target(STACK), t_owner, None),
        ("not json", "GET", target(STACK, raw_input="%7B"), t_owner, None),
        ("unknown procedure", "GET", target(STACK, procs="nope"), t_owner, None),
        ("batch mixed", "GET",
         target(STACK, procs=[PROC, PROC, PROC], batch=True,
                input=batch_input({"courseId": C_DONE}, {"courseId": C_OTHER},
                                  {"courseId": C_MISSING})), t_owner, None),
        ("batch not object", "GET", target(STACK, procs=[PROC], batch=True, input=[1]),
         t_owner, None),
        ("jsonl", "GET",
         target(STACK, procs=[PROC, PROC], batch=True,
                input=batch_input({"courseId": C_DONE}, {"courseId": C_FAIL})),
         dict(t_owner, **{"trpc-accept": "application/jsonl"}), None),
        ("jsonl unbatched", "GET", one(C_DONE),
         dict(t_owner, **{"trpc-accept": "application/jsonl"}), None),
        ("post", "POST", STACK.base + "/" + PROC, dict(t_owner, **json_ct),
         dumps({"courseId": C_DONE})),
        ("post batch", "POST", STACK.base + "/" + PROC + "," + PROC + "?batch=1",
         dict(t_owner, **json_ct), dumps({"0": {"courseId": C_DONE}})),
        ("post text/plain", "POST", STACK.base + "/" + PROC,
         dict(t_owner, **{"Content-Type": "text/plain"}), "{}"),
        ("put", "PUT", one(C_DONE), t_owner, None),
        ("delete", "DELETE", one(C_DONE), t_owner, None),
        ("head", "HEAD", one(C_DONE), t_owner, None),
    ]


def answer(front, method, tgt, headers, body):
    r = request(front, method, tgt, headers=headers, body=body)
    hdrs = {k: r.headers.get(k) for k in SERVICE_HEADERS}
    # Apache writes "Vary: a,b" for the service's "a, b": the same list.
    for k in ("vary", "allow"):
        if hdrs[k] is not None:
            hdrs[k] = [t.strip() for t in hdrs[k].split(",")]
    return r.status, hdrs, r.body


class SameEverywhere(unittest.TestCase):

    def test_every_front_answers_alike(self):
        names = ("pool", "fcgid", "cgi")
        for name, method, tgt, headers, body in cases():
            with self.subTest(case=name):
                got = {n: answer(FRONTS[n][0], method, tgt, headers, body) for n in names}
                ref = SPAWN_ANSWERS[name]
                self.assertEqual(got["pool"], ref, "nginx+pool differs from "
                                 "nginx+spawn-fcgi for %s" % name)
                for n in names[1:]:
                    self.assertEqual(got[n], ref, "%s differs from nginx+spawn-fcgi "
                                     "for %s" % (FRONTS[n][0].name, name))

    def test_answers_mean_what_they_should(self):
        """Identical is not enough: the answers are the right ones."""
        t_owner = bearer(token(STACK, OWNER))
        for n in ("pool", "fcgid", "cgi"):
            front = FRONTS[n][0]
            with self.subTest(front=front.name):
                r = request(front, "GET", target(STACK, input={"courseId": C_DONE}),
                            headers=t_owner)
                self.assertEqual(r.status, 200, r)
                self.assertIn(b'"cost":0.28', r.body)
                data = r.json()["result"]["data"]
                self.assertEqual((data["courseId"], data["status"], data["progress"]),
                                 (C_DONE, "completed", 100))
                r = request(front, "GET", target(STACK, input={"courseId": C_OTHER}),
                            headers=t_owner)
                self.assertEqual(r.status, 403, r)
                self.assertEqual(r.json()["error"]["data"]["code"], "FORBIDDEN")
                r = request(front, "GET", target(STACK, input={"courseId": C_GEN}),
                            headers=t_owner)
                data = r.json()["result"]["data"]
                self.assertEqual((data["phase"], data["progress"]), ("sections", 36))
                self.assertIsInstance(data["estimatedRemainingSeconds"], int)
                r = request(front, "HEAD", target(STACK), headers=t_owner)
                self.assertEqual((r.status, r.body), (204, b""))

    def test_pool_really_is_the_master(self):
        """nginx reached the standalone pool, not spawn-fcgi's workers."""
        pool = FRONTS["pool"][1]
        self.assertEqual(len(pool.worker_pids()), 2)
        self.assertIn("listening on unix:", pool.log_text())


if __name__ == "__main__":
    unittest.main()
