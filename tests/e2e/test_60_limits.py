"""Size limits at the edge: bodies, URLs, headers. Whatever answers (nginx or the service),
the client gets a tRPC-shaped JSON error with the real status in data.httpStatus."""

import unittest

from e2e.common import (ABSENT, E2ECase, OWNER, PROC, bearer, cid, dumps, insert_courses,
                        shared, target, token)

COURSE = cid("limits/course")


def setUpModule():
    insert_courses(shared(), [dict(id=COURSE, gen_status="queued")])


def padded_json(course, size):
    """{"courseId": course} followed by spaces up to exactly `size` bytes (valid JSON)."""
    text = dumps({"courseId": course})
    return (text + " " * (size - len(text))).encode()


class Limits(E2ECase):

    def setUp(self):
        self.auth = bearer(token(self.stack, OWNER))

    def post(self, body):
        h = dict(self.auth, **{"Content-Type": "application/json"})
        return self.req("POST", target(self.stack), h, body)

    def test_body_at_limit_is_served(self):
        d = self.ok_data(self.post(padded_json(COURSE, 65536)))
        self.assertEqual(d["courseId"], COURSE)

    def test_body_over_limit_is_413_json(self):
        for size in (65537, 70000, 1024 * 1024):
            with self.subTest(size=size):
                resp = self.post(padded_json(COURSE, size))
                err = self.assert_trpc_shaped(resp, 413)
                self.assertEqual(err["data"]["code"], "PAYLOAD_TOO_LARGE")
                self.assertEqual(err["code"], -32013)

    def test_very_long_url_is_414_json(self):
        tgt = target(self.stack, input={"courseId": COURSE, "pad": "x" * 100000})
        err = self.assert_trpc_shaped(self.get(tgt, self.auth), 414)
        self.assertEqual(err["data"]["httpStatus"], 414)

    def test_query_over_max_query_is_refused_by_the_service(self):
        # MAX_QUERY 16384 < nginx's 20k request-line buffer (large_client_header_buffers
        # in nginx/coursegen-status.conf): nginx passes the request on and the service
        # itself refuses it, with its own message (nginx's 414 is the test above).
        tgt = target(self.stack, input={"courseId": COURSE, "pad": "x" * 17000})
        self.assertGreater(len(tgt.split("?", 1)[1]), 16384)
        self.assertLess(len(tgt), 20 * 1024 - len("GET  HTTP/1.1\r\n"))
        resp = self.get(tgt, self.auth)
        self.assert_error(resp, 400, "BAD_REQUEST", "Query string exceeds the maximum length",
                          ABSENT)
        self.assert_std_headers(resp)

    def test_query_under_max_query_is_served(self):
        tgt = target(self.stack, input={"courseId": COURSE, "pad": "x" * 15000})
        self.assertLess(len(tgt.split("?", 1)[1]), 16384)
        d = self.ok_data(self.get(tgt, self.auth))
        self.assertEqual(d["courseId"], COURSE)

    def test_huge_header_is_400_json(self):
        h = {"Authorization": "Bearer " + "a" * 30000}
        err = self.assert_trpc_shaped(self.get(target(self.stack, input={"courseId": COURSE}),
                                               h), 400)
        self.assertEqual(err["data"]["code"], "BAD_REQUEST")

    def test_large_token_within_nginx_limit_is_401(self):
        h = {"Authorization": "Bearer " + "eyJ" + "a" * 12000 + ".e30.sig"}
        resp = self.get(target(self.stack, input={"courseId": COURSE}), h)
        self.assert_error(resp, 401, "UNAUTHORIZED", "Invalid or missing access token", PROC)

    def test_large_batch_post_within_limits(self):
        # 32 calls in a POST body (no URL length issue)
        body = dumps({str(i): {"courseId": COURSE} for i in range(32)})
        h = dict(self.auth, **{"Content-Type": "application/json"})
        resp = self.req("POST", target(self.stack, [PROC] * 32, batch=True), h, body)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(resp.json()), 32)


if __name__ == "__main__":
    unittest.main()
