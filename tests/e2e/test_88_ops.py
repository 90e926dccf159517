"""Operations and keys (issue 7): Prometheus metrics, the health path, English
messages, RS256/ES256 tokens from PEM and JWKS keys, algorithm confusion, aud/iss.

The metrics tests run the standalone pool, whose counters are shared by all its
workers, so a scrape through nginx sees the whole pool whichever worker answers.
RS256 and ES256 tokens are signed with the openssl command and the test-only keys of
tests/unit/keys.
"""

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import time
import unittest

from e2e.common import (OWNER, OUTSIDER, b64u, bearer, cid, claims, insert_courses,
                        jwt, request, start_stack, stop_stack, target, token)
from apache import Pool

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(os.path.dirname(HERE), "unit", "keys")
STACK = None
POOL = None
COURSE = cid("ops-generating")
DONE = cid("ops-completed")


def setUpModule():
    global STACK, POOL
    STACK = start_stack(workers=1, env={
        "JWT_JWKS_FILE": os.path.join(KEYS, "jwks.json"),
        "JWT_PUBLIC_KEYS": "pem-rsa=" + os.path.join(KEYS, "rsa-b.pub.pem"),
    })
    insert_courses(STACK, [
        dict(id=COURSE, gen_status="generating",
             meta={"last_phase": "sections", "batch_count": 3}),
        dict(id=DONE, gen_status="completed", meta={"total_lessons": 2}),
    ])
    STACK.service.stop()
    POOL = Pool(os.path.join(STACK.root, "pool"), STACK.service.sock,
                STACK._service_env(), workers=2).start()


def tearDownModule():
    if POOL is not None:
        POOL.close()
    if STACK is not None:
        stop_stack(STACK)


def get(path, headers=None, source=None):
    """GET through nginx, optionally from another loopback source address."""
    port = int(STACK.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def scrape():
    st, hdr, body = get("/metrics")
    assert st == 200, (st, body)
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return hdr, values


def status_call(course=COURSE, user=OWNER, headers=None):
    h = dict(bearer(token(STACK, user)))
    h.update(headers or {})
    return request(STACK, "GET", target(STACK, input={"courseId": course}), headers=h)


def openssl_sign(key, data, ec):
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", os.path.join(KEYS, key)],
                         input=data, capture_output=True, check=True).stdout
    if not ec:
        return sig
    # ECDSA: DER SEQUENCE { INTEGER r, INTEGER s } -> r || s, 32 bytes each (JWS).
    assert sig[0] == 0x30
    i = 2 if sig[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert sig[i] == 0x02
        n = sig[i + 1]
        out += sig[i + 2:i + 2 + n].lstrip(b"\x00").rjust(32, b"\x00")
        i += 2 + n
    return out


def signed(alg, key, kid=None, payload=None):
    """A token signed by openssl with a test key (RS256/ES256)."""
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    payload = payload or claims(OWNER)
    head = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(payload).encode())
    return head + "." + b64u(openssl_sign(key, head.encode(), alg.startswith("ES")))


class Metrics(unittest.TestCase):

    def test_calls_and_latency_count_the_whole_pool(self):
        _hdr, before = scrape()
        ok_key = 'coursegen_calls_total{procedure="generation.getStatus",code="OK"}'
        forb_key = 'coursegen_calls_total{procedure="generation.getStatus",code="FORBIDDEN"}'
        unknown_key = 'coursegen_calls_total{procedure="unknown",code="NOT_FOUND"}'
        for _ in range(10):
            self.assertEqual(status_call().status, 200)
        for _ in range(3):
            self.assertEqual(status_call(user=OUTSIDER).status, 403)
        r = request(STACK, "GET", target(STACK, procs="nope"),
                    headers=bearer(token(STACK, OWNER)))
        self.assertEqual(r.status, 404)
        hdr, after = scrape()
        self.assertTrue(hdr["content-type"].startswith("text/plain; version=0.0.4"))
        self.assertEqual(after.get(ok_key, 0) - before.get(ok_key, 0), 10)
        self.assertEqual(after.get(forb_key, 0) - before.get(forb_key, 0), 3)
        self.assertEqual(after.get(unknown_key, 0) - before.get(unknown_key, 0), 1)
        n = "coursegen_request_duration_seconds_count"
        self.assertEqual(after[n] - before[n], 14)
        inf = 'coursegen_request_duration_seconds_bucket{le="+Inf"}'
        self.assertEqual(after[inf], after[n])
        hits = 'coursegen_cache_requests_total{cache="status",result="hit"}'
        self.assertGreater(after[hits] - before.get(hits, 0), 0)

    def test_worker_restarts_are_counted(self):
        _hdr, before = scrape()
        key = 'coursegen_worker_restarts_total{reason="crash"}'
        victim = POOL.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (victim in POOL.worker_pids() or
                                               len(POOL.worker_pids()) < 2):
            time.sleep(0.05)
        _hdr, after = scrape()
        self.assertEqual(after[key] - before[key], 1)

    def test_metrics_are_loopback_only(self):
        st, hdr, body = get("/metrics", source="127.0.0.2")
        self.assertEqual(st, 403)
        self.assertEqual(json.loads(body)["error"]["data"]["code"], "FORBIDDEN")


class Health(unittest.TestCase):

    def test_health_follows_the_database(self):
        st, hdr, body = get("/healthz")
        self.assertEqual((st, json.loads(body)), (200, {"status": "ok", "cache": "exact"}))
        STACK.pg.stop()
        try:
            t0 = time.monotonic()
            st, hdr, body = get("/healthz")
            self.assertEqual((st, json.loads(body)), (503, {"status": "unavailable"}))
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            STACK.pg.start()
        st, hdr, body = get("/healthz")
        self.assertEqual(st, 200)


class English(unittest.TestCase):

    def test_accept_language_picks_the_message(self):
        cases = [
            (None, "Генерация секций (37% завершено)"),
            ("en-US,en;q=0.9", "Generating sections (37% complete)"),
            ("ru-RU,ru;q=0.9,en;q=0.8", "Генерация секций (37% завершено)"),
            ("de, en;q=0.5", "Generating sections (37% complete)"),
        ]
        # Within one cache lifetime, so a cached answer in one language can
        # never be served in the other.
        for lang, want in cases + cases:
            with self.subTest(lang=lang):
                r = status_call(headers={"Accept-Language": lang} if lang else None)
                self.assertEqual(r.json()["result"]["data"]["message"], want)
                # a shared cache must key the answer on the language too
                self.assertEqual(r.headers.get("vary"),
                                 "trpc-accept, accept, Accept-Language")
        # an error's message is the same in every language
        r = request(STACK, "GET", target(STACK, input={"courseId": DONE}),
                    headers={"Accept-Language": "en"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.headers.get("vary"), "trpc-accept, accept")


class Keys(unittest.TestCase):
    """Tokens from every configured key; the wrong ones refused."""

    def check(self, tok, want):
        r = request(STACK, "GET", target(STACK, input={"courseId": DONE}),
                    headers={"Authorization": "Bearer " + tok})
        self.assertEqual(r.status, want, r)
        if want == 401:
            self.assertEqual(r.json()["error"]["data"]["code"], "UNAUTHORIZED")

    def test_asymmetric_and_confusion(self):
        with open(os.path.join(KEYS, "rsa-a.pub.pem"), "rb") as f:
            pub = f.read()
        cases = [
            ("RS256 from JWKS (kid rsa-a)", signed("RS256", "rsa-a.pem", "rsa-a"), 200),
            ("ES256 from JWKS (kid ec-a)", signed("ES256", "ec-a.pem", "ec-a"), 200),
            ("RS256 from a PEM file (kid pem-rsa)", signed("RS256", "rsa-b.pem", "pem-rsa"), 200),
            ("legacy HS256 secret", token(STACK, OWNER), 200),
            ("RS256, key of another kid", signed("RS256", "rsa-b.pem", "rsa-a"), 401),
            ("unknown kid", signed("RS256", "rsa-a.pem", "nope"), 401),
            ("HS256 signed with the RSA public key, kid rsa-a",
             jwt(claims(OWNER), pub, "HS256",
                 header={"alg": "HS256", "typ": "JWT", "kid": "rsa-a"}), 401),
            ("HS256 signed with the RSA public key, no kid",
             jwt(claims(OWNER), pub, "HS256"), 401),
            ("RS384", signed("RS384", "rsa-a.pem", "rsa-a"), 401),
        ]
        for name, tok, want in cases:
            with self.subTest(case=name):
                self.check(tok, want)

    def test_one_spelling_per_token(self):
        """Junk glued to a valid signature, padding, or a set unused bit: 401
        (libjwt decodes base64 leniently), also once the real token is cached."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        for alg, key, kid in (("RS256", "rsa-a.pem", "rsa-a"), ("ES256", "ec-a.pem", "ec-a")):
            tok = signed(alg, key, kid)
            self.check(tok, 200)
            sig = tok.rsplit(".", 1)[1]
            self.assertNotEqual(len(sig) % 4, 0)
            flipped = tok[:-1] + alphabet[alphabet.index(tok[-1]) ^ 1]
            for name, bad in (("==", tok + "=="), ("!!", tok + "!!"), (".", tok + "."),
                              ("fourth part", tok + ".AAAA"), ("unused bit", flipped)):
                with self.subTest(alg=alg, variant=name):
                    self.check(bad, 401)
            self.check(tok, 200)


class AudienceIssuer(unittest.TestCase):

    def test_aud_and_iss_when_configured(self):
        st = start_stack(workers=1, env={"JWT_AUDIENCE": "authenticated",
                                         "JWT_ISSUER": "https://x.supabase.co/auth/v1"})
        try:
            insert_courses(st, [dict(id=DONE, gen_status="completed")])
            good = dict(claims(OWNER), aud="authenticated",
                        iss="https://x.supabase.co/auth/v1")
            cases = [
                (good, 200),
                (dict(good, aud=["other", "authenticated"]), 200),
                (dict(good, aud="anon"), 401),
                ({k: v for k, v in good.items() if k != "aud"}, 401),
                (dict(good, iss="https://evil.example/auth/v1"), 401),
            ]
            for payload, want in cases:
                with self.subTest(payload=payload):
                    r = request(st, "GET", target(st, input={"courseId": DONE}),
                                headers=bearer(jwt(payload, st.secret)))
                    self.assertEqual(r.status, want, r)
        finally:
            stop_stack(st)


if __name__ == "__main__":
    unittest.main()
