"""The three deployments answer alike, byte for byte (issue 3).

One database, six fronts:
  nginx   -> spawn-fcgi's workers, the socket on fd 0 (the standard way);
  nginx   -> the service's own standalone pool (coursegen-status --listen, master +
             workers), with the shipped nginx config;
  Apache  -> mod_fcgid, the service on the socket in fd 0 (no master), with the shipped
             apache/coursegen-status-fcgid.conf, under prefork and under the event MPM;
  Apache  -> one process per request, with apache/coursegen-status-cgi.conf: mod_cgi
             under prefork, and mod_cgid under the event MPM (what "a2enmod cgi" gives
             on Debian's default Apache).
The event MPM fronts are Apache as Debian installs it (tests/apache.py); the mod_fcgid
one also has "Mutex file:${APACHE_LOCK_DIR} default", the line Debian's apache2.conf
carries commented out and Ubuntu's sets, which the shipped config must survive.
Every request of a table goes to all of them; status, body and the service's headers
must be identical. A few calls are also checked for their meaning, so that identical
wrong answers cannot pass. Then what only Apache does: bodies over the limit, its own
error pages, bodies the program never reads, bursts through mod_fcgid.
"""

import http.client
import json
import os
import re
import stat
import threading
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
C_BOOM = cid("modes-unknown-status")

# name -> (mode, mpm, extra global directives)
APACHES = {
    "fcgid": ("fcgid", "prefork", ()),
    "cgi": ("cgi", "prefork", ()),
    "event-fcgid": ("fcgid", "event", ("Mutex file:${APACHE_LOCK_DIR} default",)),
    "event-cgid": ("cgi", "event", ()),
}

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
            dict(id=C_BOOM, gen_status="exploded"),
        ])
        env = STACK._service_env()
        # The spawn-fcgi answers first, then nginx talks to the standalone pool.
        FRONTS["spawn"] = (Front("nginx+spawn-fcgi", STACK.url), None)
        SPAWN_ANSWERS.update({c[0]: answer(FRONTS["spawn"][0], *c[1:]) for c in cases()})
        sock = STACK.service.sock
        STACK.service.stop()
        pool = Pool(os.path.join(STACK.root, "pool"), sock, env, workers=2).start()
        FRONTS["pool"] = (Front("nginx+pool", STACK.url), pool)
        for name, (mode, mpm, extra) in APACHES.items():
            ap = Apache(os.path.join(STACK.root, "apache-" + name), mode, env, mpm=mpm,
                        extra=extra).start()
            FRONTS[name] = (Front("apache+%s (%s)" % (mode, mpm),
                                  "http://127.0.0.1:%d" % ap.port), ap)
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
        ("put with a body", "PUT", one(C_DONE), dict(t_owner, **json_ct),
         dumps({"courseId": C_DONE})),
        ("patch with a body", "PATCH", one(C_DONE), dict(t_owner, **json_ct),
         dumps({"courseId": C_DONE})),
        ("the service's own 500", "GET", one(C_BOOM), t_owner, None),
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
        names = ("pool",) + tuple(APACHES)
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
        for n in ("pool",) + tuple(APACHES):
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


def raw_post(front, size, chunked=False):
    """POST `size` bytes of JSON to generation.getStatus (chunked: no Content-Length)."""
    port = int(front.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = b"{" + b" " * (size - 2) + b"}"
    headers = dict(bearer(token(STACK, OWNER)), **{"Content-Type": "application/json"})
    try:
        if chunked:
            conn.request("POST", "/trpc/" + PROC, body=iter([body]), headers=headers,
                         encode_chunked=True)
        else:
            conn.request("POST", "/trpc/" + PROC, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class ApacheOnly(unittest.TestCase):
    """What Apache itself does in front of the service, on every MPM."""

    def assert_trpc_error(self, status, headers, body, want, key):
        self.assertEqual(status, want, body)
        self.assertEqual(headers.get("content-type", "").split(";")[0], "application/json",
                         headers)
        self.assertEqual(headers.get("cache-control"), "no-store", headers)
        err = json.loads(body)["error"]
        self.assertIsInstance(err["message"], str)
        self.assertEqual((err["data"]["code"], err["data"]["httpStatus"]), (key, want))
        self.assertIs(type(err["code"]), int)

    def test_bodies_over_the_limit_are_413_json(self):
        """100 KB and 2 MB bodies (mod_fcgid answered these with its HTML 500), also
        chunked: a tRPC 413 everywhere."""
        for name in APACHES:
            for size, chunked in ((100 * 1024, False), (2 * 1024 * 1024, False),
                                  (100 * 1024, True)):
                with self.subTest(front=name, size=size, chunked=chunked):
                    st, h, body = raw_post(FRONTS[name][0], size, chunked)
                    self.assert_trpc_error(st, h, body, 413, "PAYLOAD_TOO_LARGE")

    def test_apache_500_is_json(self):
        """A program Apache cannot run: its own 500, as a tRPC error."""
        for name in ("cgi", "event-cgid"):
            ap = FRONTS[name][1]
            exe = os.path.join(ap.root, "bin", "coursegen-status")
            mode = os.stat(exe).st_mode
            os.chmod(exe, 0o644)
            try:
                with self.subTest(front=name):
                    r = request(FRONTS[name][0], "GET",
                                target(STACK, input={"courseId": C_DONE}),
                                headers=bearer(token(STACK, OWNER)))
                    self.assert_trpc_error(r.status, r.headers, r.body, 500,
                                           "INTERNAL_SERVER_ERROR")
            finally:
                os.chmod(exe, stat.S_IMODE(mode))

    def test_unread_bodies_do_not_stall(self):
        """405 and 415 answers leave the body unread by the service: under mod_cgid the
        answer was held 5 s and then cut off. Complete answers, nothing in the log."""
        json_ct = dict(bearer(token(STACK, OWNER)), **{"Content-Type": "application/json"})
        for name in APACHES:
            front, ap = FRONTS[name]
            for method, headers, want in (
                    ("PUT", json_ct, 405), ("PATCH", json_ct, 405),
                    ("POST", dict(json_ct, **{"Content-Type": "text/plain"}), 415)):
                with self.subTest(front=name, method=method, status=want):
                    r = request(front, method, target(STACK, input={"courseId": C_DONE}),
                                headers=headers, body=dumps({"courseId": C_DONE}))
                    self.assertEqual(r.status, want, r)
                    self.assertEqual(r.json()["error"]["data"]["httpStatus"], want)
            self.assertNotRegex(ap.log_text(), r"AH00574|reset by peer",
                                "%s: a body left unread broke an answer" % name)

    def test_fcgid_burst_on_the_event_mpm(self):
        """200 concurrent GETs through mod_fcgid on the event MPM, three times: every
        one answered. Before, in about one burst in seven, mod_fcgid's file-lock
        mutexes reported a false deadlock between two Apache children and mod_fcgid
        exited one of them, closing its connections without an answer."""
        front, ap = FRONTS["event-fcgid"]
        port = int(front.url.rsplit(":", 1)[1])
        tgt = target(STACK, input={"courseId": C_DONE})
        hdrs = bearer(token(STACK, OWNER))
        for burst in range(3):
            results = []

            def one():
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    conn.request("GET", tgt, headers=hdrs)
                    r = conn.getresponse()
                    r.read()
                    results.append(r.status)
                    conn.close()
                except (OSError, http.client.HTTPException) as e:
                    results.append(repr(e))
            threads = [threading.Thread(target=one) for _ in range(200)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            with self.subTest(burst=burst):
                self.assertEqual([r for r in results if r != 200], [])
        self.assertNotRegex(ap.log_text(), r"mod_fcgid: can't|Resource deadlock")

    def test_fcgid_mutexes_are_not_file_locks(self):
        """The cause of the closed connections, checked directly: no Apache process
        holds a lock file for mod_fcgid's mutexes (with "Mutex file:... default")."""
        for name in ("fcgid", "event-fcgid"):
            ap = FRONTS[name][1]
            held = []
            self.assertGreater(len(ap.pids()), 2, "Apache's processes not found")
            for pid in ap.pids():
                try:
                    fds = os.listdir("/proc/%d/fd" % pid)
                except OSError:
                    continue
                for fd in fds:
                    try:
                        dest = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue
                    if re.search(r"/fcgid-(pipe|proctbl)", dest):
                        held.append((pid, dest))
            with self.subTest(front=name):
                self.assertEqual(held, [])


if __name__ == "__main__":
    unittest.main()
