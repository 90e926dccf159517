"""CORS by exact origins (issue 15), the same through every front.

One database, CORS_ORIGINS set to two origins, four fronts as in test_86_modes:
nginx -> spawn-fcgi, nginx -> the standalone pool, Apache -> mod_fcgid, Apache ->
mod_cgi, each with the shipped config. Over raw HTTP, in each:

- a preflight from an allowed origin: 204, Access-Control-Allow-Origin (that origin),
  -Allow-Methods GET, POST, -Allow-Headers with what tRPC clients send, -Max-Age,
  Vary: Origin; nothing else of CORS;
- a preflight from another origin: 403 FORBIDDEN as tRPC JSON, no Access-Control-*;
- answers (200, 401, 415, batch, HEAD) to an allowed origin carry
  Access-Control-Allow-Origin and Vary with Origin; to another origin or with no
  Origin, no Access-Control-* at all;
and, with CORS off (the default), a preflight is still the 405 it always was. In the
pool, /metrics counts preflights by result.
"""

import os
import unittest

from e2e.common import (OWNER, PROC, batch_input, bearer, cid, dumps, insert_courses,
                        request, shared, start_stack, stop_stack, target, token)
from apache import Apache, Pool

ALLOWED = "https://app.example.com"
ALLOWED_2 = "http://127.0.0.1:5173"
OTHER = "https://evil.example.net"
C_DONE = cid("cors-completed")

STACK = None
FRONTS = {}


class Front:
    base = "/trpc"

    def __init__(self, name, url):
        self.name = name
        self.url = url


def setUpModule():
    global STACK
    STACK = start_stack(workers=2, mode="spawn-fcgi",
                        env={"CORS_ORIGINS": "%s, %s/" % (ALLOWED, ALLOWED_2)})
    try:
        insert_courses(STACK, [dict(id=C_DONE, gen_status="completed")])
        env = STACK._service_env()
        FRONTS["nginx+spawn-fcgi"] = (Front("nginx+spawn-fcgi", STACK.url), None)
        FRONTS["nginx+pool"] = None     # after spawn-fcgi's tests (same socket)
        for mode in ("fcgid", "cgi"):
            ap = Apache(os.path.join(STACK.root, "apache-" + mode), mode, env).start()
            FRONTS["apache+" + mode] = (Front("apache+" + mode,
                                              "http://127.0.0.1:%d" % ap.port), ap)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    for v in FRONTS.values():
        if v is not None and v[1] is not None:
            v[1].close()
    FRONTS.clear()
    if STACK is not None:
        stop_stack(STACK)


def cors_headers(r):
    return {k: v for k, v in r.headers.items() if k.startswith("access-control-")}


def vary(r):
    return [t.strip().lower() for t in r.headers.get("vary", "").split(",") if t.strip()]


def scrape(front):
    r = request(front, "GET", "/metrics")
    assert r.status == 200, r
    values = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def preflight(front, origin, method="GET", req_headers="authorization,trpc-accept"):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return request(front, "OPTIONS", target(STACK, input={"courseId": C_DONE}), headers=h)


class CorsEverywhere(unittest.TestCase):
    maxDiff = None

    def fronts(self):
        """Each front in turn; the pool replaces spawn-fcgi's workers on the socket
        once spawn-fcgi's turn is over."""
        for name in ("nginx+spawn-fcgi", "apache+fcgid", "apache+cgi", "nginx+pool"):
            if FRONTS.get(name) is None:
                sock = STACK.service.sock
                STACK.service.stop()
                pool = Pool(os.path.join(STACK.root, "pool"), sock,
                            STACK._service_env(), workers=2).start()
                FRONTS[name] = (Front(name, STACK.url), pool)
            yield FRONTS[name][0]

    def check_front(self, front):
        tok = bearer(token(STACK, OWNER))
        allow_headers_needed = {"authorization", "content-type", "trpc-accept",
                                "trpc-batch-mode", "x-trpc-source"}
        # Preflights.
        for origin in (ALLOWED, ALLOWED_2):
            for method, rh in (("GET", "authorization,trpc-accept"),
                               ("POST", "authorization,content-type,x-trpc-source")):
                r = preflight(front, origin, method, rh)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.body, b"")
                h = cors_headers(r)
                self.assertEqual(h.get("access-control-allow-origin"), origin)
                self.assertEqual(
                    [m.strip() for m in h["access-control-allow-methods"].split(",")],
                    ["GET", "POST"])
                allowed = {x.strip() for x in
                           h["access-control-allow-headers"].lower().split(",")}
                self.assertLessEqual(allow_headers_needed, allowed)
                self.assertGreater(int(h["access-control-max-age"]), 0)
                self.assertNotIn("access-control-allow-credentials", h)
                self.assertIn("origin", vary(r))
        for origin in (OTHER, "null", ALLOWED + ".evil.example.net", "http://app.example.com"):
            r = preflight(front, origin)
            self.assertEqual(r.status, 403, r)
            self.assertEqual(cors_headers(r), {}, r)
            self.assertEqual(r.json()["error"]["data"]["code"], "FORBIDDEN")
            self.assertIn("origin", vary(r))

        # Answers.
        one = target(STACK, input={"courseId": C_DONE})
        json_ct = {"Content-Type": "application/json"}
        answers = [
            ("GET", one, tok, None, 200),
            ("GET", one, {}, None, 401),
            ("GET", target(STACK, procs=[PROC, PROC], batch=True,
                           input=batch_input({"courseId": C_DONE}, {"courseId": C_DONE})),
             tok, None, 200),
            ("POST", STACK.base + "/" + PROC, dict(tok, **json_ct),
             dumps({"courseId": C_DONE}), 200),
            ("POST", STACK.base + "/" + PROC, dict(tok, **{"Content-Type": "text/plain"}),
             "{}", 415),
            ("HEAD", one, tok, None, 204),
        ]
        for method, tgt, headers, body, status in answers:
            for origin, ok in ((ALLOWED, True), (ALLOWED_2, True), (OTHER, False),
                               (None, False)):
                h = dict(headers)
                if origin:
                    h["Origin"] = origin
                r = request(front, method, tgt, headers=h, body=body)
                self.assertEqual(r.status, status, (method, origin, r))
                self.assertIn("origin", vary(r), r)
                if ok:
                    self.assertEqual(cors_headers(r), {
                        "access-control-allow-origin": origin,
                        "access-control-expose-headers": "Retry-After"}, r)
                else:
                    self.assertEqual(cors_headers(r), {}, (origin, r))

    def test_every_front(self):
        for front in self.fronts():
            with self.subTest(front=front.name):
                if front.name != "nginx+pool":
                    self.check_front(front)
                    continue
                # The pool's counters are the pool's: preflights are counted by
                # result, and timed as requests (8 preflights, 24 answers).
                before = scrape(front)
                self.check_front(front)
                after = scrape(front)
                delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                self.assertEqual(delta['coursegen_cors_preflights_total{result="allowed"}'], 4)
                self.assertEqual(delta['coursegen_cors_preflights_total{result="refused"}'], 4)
                self.assertEqual(delta["coursegen_request_duration_seconds_count"], 32)


class CorsOffByDefault(unittest.TestCase):
    def test_preflight_refused_as_before(self):
        """Without CORS_ORIGINS nothing changes: 405, Allow, no Access-Control-*,
        and Vary without Origin."""
        st = shared()
        r = request(st, "OPTIONS", target(st, input={"courseId": C_DONE}), headers={
            "Origin": ALLOWED, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.headers.get("allow"), "GET, POST")
        self.assertEqual(cors_headers(r), {})
        r = request(st, "GET", target(st, input={"courseId": C_DONE}),
                    headers=dict(bearer(token(st, OWNER)), Origin=ALLOWED))
        self.assertEqual(cors_headers(r), {})
        self.assertNotIn("origin", vary(r))


if __name__ == "__main__":
    unittest.main()
