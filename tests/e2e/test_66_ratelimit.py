"""Per-client rate limits (issue 15), through nginx to the standalone pool.

RATE_LIMIT=2 calls per second, RATE_LIMIT_BURST=5, two workers sharing one table:

- a burst from one user gets 429 TOO_MANY_REQUESTS (tRPC's error shape, with the
  call's path) and Retry-After; the pool as a whole lets through no more than the
  bucket allows over the measured time of the burst (two per-worker buckets would
  allow twice the burst); after waiting, the user is answered again;
- a second user polling at the same time, below the rate, never gets a 429;
- calls without a valid token are limited by client address: a flood of them from
  127.0.0.2 gets 429s while 127.0.0.3 still gets its 401, and a valid token from
  127.0.0.2 is counted for its user, not the address;
- a flood of forged tokens from one address: past the limit, refused before the
  token is verified (coursegen_ratelimit_unverified_total); tokens refused without
  a signature check never block verifying a valid one;
- a batch beyond the bucket: the calls within it answer, the rest are 429 (207);
- /metrics counts allowed and limited calls by key;
- under spawn-fcgi each worker limits on its own (the documented per-process limit).
The other e2e modules run with RATE_LIMIT=0 (scripts/localstack.py); that the shipped defaults
spare an honest front end is check_ratelimit's test_defaults_spare_honest_front_ends.
"""

import http.client
import json
import math
import os
import threading
import time
import unittest

from e2e.common import (PROC, batch_input, bearer, cid, claims, insert_courses, jwt,
                        request, start_stack, stop_stack, target, token)
from apache import Pool

RATE, BURST = 2, 5
STACK = None
POOL = None
FLOODER = "a1000000-0000-4000-8000-000000000001"
POLLER = "a1000000-0000-4000-8000-000000000002"
BATCHER = "a1000000-0000-4000-8000-000000000003"
WAITER = "a1000000-0000-4000-8000-000000000004"
ADDR_USER = "a1000000-0000-4000-8000-000000000005"
USERS = (FLOODER, POLLER, BATCHER, WAITER, ADDR_USER)


def setUpModule():
    global STACK, POOL
    STACK = start_stack(workers=1, env={"RATE_LIMIT": str(RATE),
                                        "RATE_LIMIT_BURST": str(BURST)})
    insert_courses(STACK, [dict(id=cid("ratelimit-" + u), gen_status="completed", owner=u)
                           for u in USERS])
    STACK.service.stop()
    POOL = Pool(os.path.join(STACK.root, "pool"), STACK.service.sock,
                STACK._service_env(), workers=2).start()


def tearDownModule():
    if POOL is not None:
        POOL.close()
    if STACK is not None:
        stop_stack(STACK)


def call(user=None, source=None, path=None, headers=None):
    """GET one getStatus call through nginx (from a loopback source address),
    with user's token or the given headers; returns (status, headers, body)."""
    port = int(STACK.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15,
                                      source_address=(source, 0) if source else None)
    if path is None:
        path = target(STACK, input={"courseId": cid("ratelimit-" + (user or FLOODER))})
    try:
        if headers is None:
            headers = bearer(token(STACK, user)) if user else {}
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def scrape():
    st, _hdr, body = call(path="/metrics")
    assert st == 200, (st, body)
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def wait_until_answered(user, deadline_s=15, source=None):
    """Call as `user` until not 429, sleeping what Retry-After says; returns the
    last (status, headers, body), or fails after deadline_s."""
    end = time.monotonic() + deadline_s
    while True:
        st, hdr, body = call(user, source=source)
        if st != 429 or time.monotonic() > end:
            return st, hdr, body
        time.sleep(float(hdr["retry-after"]))


class RateLimits(unittest.TestCase):
    maxDiff = None

    def assert_429(self, st, hdr, body, path=True):
        self.assertEqual(st, 429, body)
        self.assertGreaterEqual(int(hdr["retry-after"]), 1)
        self.assertLessEqual(int(hdr["retry-after"]), math.ceil(1 / RATE))
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], -32029)
        self.assertEqual(err["message"], "Too many requests")
        self.assertEqual(err["data"]["code"], "TOO_MANY_REQUESTS")
        self.assertEqual(err["data"]["httpStatus"], 429)
        if path:
            self.assertEqual(err["data"]["path"], PROC)

    def test_1_burst_limited_pool_wide_then_answered_again(self):
        t0 = time.monotonic()
        answers = [call(WAITER) for _ in range(4 * BURST)]
        elapsed = time.monotonic() - t0
        ok = [a for a in answers if a[0] == 200]
        limited = [a for a in answers if a[0] == 429]
        self.assertEqual(len(ok) + len(limited), len(answers), answers[:3])
        # No more than the bucket holds plus what it refilled meanwhile, over the
        # whole pool (both workers answered: see test_4).
        self.assertLessEqual(len(ok), BURST + int(RATE * elapsed) + 1,
                             "elapsed %.3f s" % elapsed)
        self.assertGreaterEqual(len(ok), BURST)
        self.assertTrue(limited)
        for st, hdr, body in limited:
            self.assert_429(st, hdr, body)
        st, _hdr, body = wait_until_answered(WAITER)
        self.assertEqual(st, 200, body)

    def test_2_other_user_never_slowed(self):
        stop = threading.Event()
        flood = {"ok": 0, "limited": 0, "other": 0}

        def flooder():
            while not stop.is_set():
                st = call(FLOODER)[0]
                key = "ok" if st == 200 else "limited" if st == 429 else "other"
                flood[key] += 1

        threads = [threading.Thread(target=flooder) for _ in range(3)]
        for t in threads:
            t.start()
        polls = []
        try:
            # The poller calls once a second (half the rate), while the flood goes on.
            for _ in range(6):
                polls.append(call(POLLER)[:3:2])
                time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual([p[0] for p in polls], [200] * len(polls), polls)
        self.assertGreater(flood["limited"], 0, flood)
        self.assertEqual(flood["other"], 0, flood)

    def test_3_unauthenticated_limited_per_address(self):
        t0 = time.monotonic()
        statuses = [call(None, source="127.0.0.2")[0] for _ in range(4 * BURST)]
        elapsed = time.monotonic() - t0
        self.assertIn(429, statuses)
        self.assertEqual(set(statuses), {401, 429}, statuses)
        self.assertLessEqual(statuses.count(401), BURST + int(RATE * elapsed) + 1,
                             "elapsed %.3f s: %r" % (elapsed, statuses))
        st, hdr, body = call(None, source="127.0.0.2")
        if st == 429:
            self.assert_429(st, hdr, body)
        # Another address is its own client.
        self.assertEqual(call(None, source="127.0.0.3")[0], 401)
        # A valid token from the flooding address is counted for its user.
        self.assertEqual(call(ADDR_USER, source="127.0.0.2")[0], 200)

    def test_3b_forged_tokens_refused_before_verifying(self):
        # A flood of forged tokens (signed with another secret) from one address:
        # each verified one is a 401 and takes from the address's bucket of refused
        # tokens; once that is past the limit, calls are refused (429) before their
        # token is verified. (test_3's flood carries no token, so it never drains
        # that bucket: the valid token it then sends is verified and answered.)
        forged = bearer(jwt(claims(FLOODER), "not-the-secret-not-the-secret-not-it"))
        before = scrape()
        t0 = time.monotonic()
        answers = [call(source="127.0.0.4", headers=forged) for _ in range(4 * BURST)]
        elapsed = time.monotonic() - t0
        after = scrape()
        statuses = [a[0] for a in answers]
        self.assertEqual(set(statuses), {401, 429}, statuses)
        self.assertLessEqual(statuses.count(401), BURST + int(RATE * elapsed) + 1,
                             "elapsed %.3f s: %r" % (elapsed, statuses))
        for st, hdr, body in answers:
            if st == 429:
                self.assert_429(st, hdr, body)
        # Every 429 was decided before its token was verified.
        unverified = "coursegen_ratelimit_unverified_total"
        self.assertEqual(after[unverified] - before.get(unverified, 0),
                         statuses.count(429), statuses)
        # A valid token from there, new to the workers, waits like the address
        # (at most Retry-After, once the flood stops), then is verified.
        st, _hdr, body = wait_until_answered(ADDR_USER, source="127.0.0.4")
        self.assertEqual(st, 200, body)
        # Another address is not touched.
        self.assertEqual(call(None, source="127.0.0.5", headers=forged)[0], 401)

    def test_3c_cheap_refusals_do_not_block_verifying(self):
        # Tokens refused without a signature check (another scheme; alg "none",
        # whose empty signature is malformed) are limited with the address, but
        # never stop a valid token from there being verified: one no worker has
        # in its token cache (its own jti), so that it must be verified.
        for hdr in ({"Authorization": "Basic dXNlcjpwYXNz"},
                    bearer(jwt(claims(FLOODER), "", alg="none"))):
            statuses = [call(source="127.0.0.6", headers=hdr)[0] for _ in range(4 * BURST)]
            self.assertLessEqual(set(statuses), {401, 429}, statuses)
            self.assertIn(429, statuses)
        fresh = bearer(token(STACK, ADDR_USER, jti="test_3c"))
        path = target(STACK, input={"courseId": cid("ratelimit-" + ADDR_USER)})
        st, _hdr, body = call(source="127.0.0.6", path=path, headers=fresh)
        self.assertEqual(st, 200, body)

    def test_4_batch_beyond_the_bucket(self):
        c = cid("ratelimit-" + BATCHER)
        n = BURST + 3
        port = int(STACK.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request("GET", target(STACK, procs=[PROC] * n, batch=True,
                                   input=batch_input(*[{"courseId": c}] * n)),
                     headers=bearer(token(STACK, BATCHER)))
        r = conn.getresponse()
        body = r.read()
        conn.close()
        self.assertEqual(r.status, 207, body)
        self.assertGreaterEqual(int(r.getheader("Retry-After")), 1)
        items = json.loads(body)
        codes = [("ok" if "result" in i else i["error"]["data"]["code"]) for i in items]
        self.assertEqual(codes[:BURST], ["ok"] * BURST)
        self.assertIn("TOO_MANY_REQUESTS", codes[BURST:])

    def test_5_metrics(self):
        m = scrape()
        self.assertGreater(m['coursegen_ratelimit_calls_total{key="user",result="allowed"}'], 0)
        self.assertGreater(m['coursegen_ratelimit_calls_total{key="user",result="limited"}'], 0)
        self.assertGreater(m['coursegen_ratelimit_calls_total{key="address",result="limited"}'], 0)
        self.assertIn('coursegen_ratelimit_evictions_total{state="active"}', m)
        self.assertGreater(m['coursegen_calls_total{procedure="generation.getStatus",'
                             'code="TOO_MANY_REQUESTS"}'], 0)
        # Both workers served: the counters (and the buckets) are the pool's.
        self.assertEqual(len(POOL.worker_pids()), 2)


class PerProcessUnderSpawnFcgi(unittest.TestCase):
    """spawn-fcgi's workers each keep their own buckets (as under mod_fcgid): a burst
    is still limited, by each process, so at most workers x the bucket gets through."""

    def test_burst_limited_per_process(self):
        workers = 2
        st = start_stack(workers=workers, mode="spawn-fcgi",
                         env={"RATE_LIMIT": str(RATE), "RATE_LIMIT_BURST": str(BURST)})
        try:
            insert_courses(st, [dict(id=cid("ratelimit-spawn"), gen_status="completed",
                                     owner=FLOODER)])
            path = target(st, input={"courseId": cid("ratelimit-spawn")})
            hdr = bearer(token(st, FLOODER))
            t0 = time.monotonic()
            got = [request(st, "GET", path, headers=hdr).status for _ in range(6 * BURST)]
            elapsed = time.monotonic() - t0
            self.assertIn(429, got)
            self.assertEqual(set(got), {200, 429}, got)
            self.assertLessEqual(got.count(200),
                                 workers * (BURST + int(RATE * elapsed) + 1), got)
        finally:
            stop_stack(st)


if __name__ == "__main__":
    unittest.main()
