"""Hostile input (issue 4): malformed percent-encoding, invalid UTF-8, NUL bytes, duplicate
and conflicting parameters, inputs of the wrong JSON type, CR/LF in values that could reach a
header, over-deep JSON, oversized tokens, and the program's own limits in CGI mode (no nginx
in front). Each gets a clear tRPC error; the FastCGI workers keep serving (same pids) and
nothing crashes. Cases already covered elsewhere (test_40 batch shapes and media types,
test_50 token forms, test_60/85 limits behind nginx) are not repeated here."""

import os
import random
import signal
import subprocess
import time
import unittest
import urllib.parse

from e2e.common import (ABSENT, E2ECase, OWNER, PROC, cid, dumps, enc, insert_courses,
                        media_type, shared, strict_loads, target, token, bearer,
                        MSG_UNAUTH)

COURSE = cid("hostile/course")
BAD_PCT = "Invalid URL-encoding in query string"
QUERY_TOO_LONG = "Query string exceeds the maximum length"
BATCH_TOO_BIG = "Batch call exceeds maximum size"
BAD_CLEN = "Invalid Content-Length"
BODY_INCOMPLETE = "Request body is incomplete"
# The response headers the service may send (anything else would be an injection).
SERVICE_HEADERS = {"content-type", "vary", "cache-control", "x-content-type-options", "allow"}


def setUpModule():
    insert_courses(shared(), [dict(id=COURSE, gen_status="queued")])


def ok_query(course=COURSE):
    return "input=" + enc(dumps({"courseId": course}))


def in_string(raw_bytes_pct):
    """input={"courseId":"<raw>"} with raw already percent-encoded bytes."""
    return "input=" + enc('{"courseId":"') + raw_bytes_pct + enc('"}')


def parse_cgi(out):
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = None
    headers = []
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.decode("latin-1").strip().lower()
        value = value.decode("latin-1").strip()
        if name == "status":
            status = int(value.split()[0])
        else:
            headers.append((name, value))
    return status, headers, body


class Hostile(E2ECase):
    """Through nginx to the shared stack's FastCGI workers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pids = sorted(cls.stack.service.alive_pids())
        cls.log_start = len(cls.stack.service_log())

    def setUp(self):
        self.auth = bearer(token(self.stack, OWNER))

    def tearDown(self):
        # every test leaves the same workers running
        self.assertEqual(sorted(self.stack.service.alive_pids()), self.pids,
                         "a worker died or was replaced")

    def q(self, query, headers=None):
        return self.get(self.stack.base + "/" + PROC + "?" + query,
                        self.auth if headers is None else headers)

    def post(self, body, tgt=None, headers=None):
        h = dict(self.auth, **{"Content-Type": "application/json"})
        h.update(headers or {})
        return self.req("POST", tgt or target(self.stack), h, body)

    def assert_bad_json(self, resp, reason=None, path=PROC):
        err = self.assert_error(resp, 400, "BAD_REQUEST", None, path)
        self.assertTrue(err["message"].startswith("Invalid JSON input: "), err)
        if reason:
            self.assertIn(reason, err["message"])
        self.assert_std_headers(resp)
        return err

    def test_malformed_percent_encoding(self):
        for query in ("input=%zz", "input=%7B%", "input=%4", "input=%%", "input=%g0",
                      "in%zzput=1&" + ok_query(), ok_query() + "&x=%", ok_query() + "&%=1",
                      "batch=1&input=%7B%220%22%3A%7B%7D%7"):
            with self.subTest(query=query):
                resp = self.q(query)
                self.assert_error(resp, 400, "BAD_REQUEST", BAD_PCT, ABSENT)
                self.assert_std_headers(resp)
        # the same for a batch: one request-level error, not one per call
        resp = self.get(target(self.stack, [PROC, PROC], batch=True, raw_input="%zz"),
                        self.auth)
        self.assert_error(resp, 400, "BAD_REQUEST", BAD_PCT, ABSENT)

    def test_invalid_utf8_in_input(self):
        cases = {"lone continuation": "%80", "invalid bytes": "%ff%fe",
                 "overlong slash": "%c0%af", "encoded surrogate": "%ed%a0%80",
                 "truncated sequence": "%e2%82", "past U+10FFFF": "%f4%90%80%80",
                 "latin-1 e-acute": "%e9"}
        for name, raw in cases.items():
            with self.subTest(case=name, via="query"):
                self.assert_bad_json(self.q(in_string(raw)), "invalid UTF-8")
            with self.subTest(case=name, via="POST body"):
                body = b'{"courseId":"' + bytes.fromhex(raw.replace("%", "")) + b'"}'
                self.assert_bad_json(self.post(body), "invalid UTF-8")
        # invalid UTF-8 as a key
        self.assert_bad_json(self.q("input=%7B%22%ff%22%3A1%7D"), "invalid UTF-8")

    def test_invalid_utf8_in_batch_input(self):
        raw = enc('{"0":{"courseId":"') + "%ff" + enc('"},"1":{"courseId":"%s"}}' % COURSE)
        resp = self.get(target(self.stack, [PROC, PROC], batch=True, raw_input=raw), self.auth)
        self.assertEqual(resp.status, 400, resp)
        body = resp.json()
        errs = [i["error"] for i in body] if isinstance(body, list) else [body["error"]]
        for err in errs:
            self.assert_error_obj(err, 400, "BAD_REQUEST", None, None)
            self.assertTrue(err["message"].startswith("Invalid JSON input"), err)

    def test_nul_bytes_in_input(self):
        # raw NUL inside a JSON string: a control character, not JSON
        self.assert_bad_json(self.q(in_string("%00")), "control character")
        self.assert_bad_json(self.q("input=%00"))
        self.assert_bad_json(self.post(b'{"courseId":"\x00"}'), "control character")
        self.assert_bad_json(self.post(b'{"courseId":"%s"}\x00' % COURSE.encode()))
        self.assert_bad_json(self.post(b"\x00"))
        # an escaped NUL is JSON; the schema refuses it (no truncation at the NUL)
        for text in ('{"courseId":"%s\\u0000"}' % COURSE, '{"courseId":"\\u0000%s"}' % COURSE):
            with self.subTest(text=text):
                err = self.assert_error(self.q("input=" + enc(text)), 400, "BAD_REQUEST")
                self.assertEqual(self.issues(err)[0]["validation"], "uuid")
        # an escaped NUL in the key: that key is not courseId
        err = self.assert_error(self.q("input=" + enc('{"course\\u0000Id":"%s"}' % COURSE)),
                                400, "BAD_REQUEST")
        self.assertEqual(self.issues(err)[0]["message"], "Required")

    def test_nul_bytes_in_path_and_headers(self):
        tok = self.auth["Authorization"].encode()
        cases = {
            "%00 in the procedure": b"GET /trpc/generation.getStatus%00x?" + ok_query().encode()
                                    + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + tok,
            "NUL in Authorization": b"GET /trpc/generation.getStatus?" + ok_query().encode()
                                    + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + tok + b"\x00",
            "NUL in trpc-accept": b"GET /trpc/generation.getStatus?batch=1&input=%7B%7D"
                                  b" HTTP/1.1\r\nHost: x\r\ntrpc-accept: application/jsonl\x00",
            "NUL in Content-Type": b"POST /trpc/generation.getStatus HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 2\r\nContent-Type: application/json\x00x",
        }
        for name, head in cases.items():
            with self.subTest(case=name):
                out = self.stack.raw(head + b"\r\nConnection: close\r\n\r\n"
                                     + (b"{}" if head.startswith(b"POST") else b""))
                status_line, _, rest = out.partition(b"\r\n")
                self.assertRegex(status_line, rb"^HTTP/1\.[01] 4\d\d ", out[:300])
                body = rest.partition(b"\r\n\r\n")[2]
                if b"chunked" in rest.partition(b"\r\n\r\n")[0].lower():
                    body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
                err = strict_loads(body)["error"]
                self.assertEqual(err["data"]["httpStatus"], int(status_line.split()[1]))
                self.assertNotEqual(err["data"]["code"], "INTERNAL_SERVER_ERROR")

    def test_duplicate_and_conflicting_parameters(self):
        other = ok_query(cid("hostile/other"))
        for query, name in ((ok_query() + "&" + ok_query(), "input"),
                            (ok_query() + "&" + other, "input"),
                            (other + "&" + ok_query(), "input"),
                            ("input=&" + ok_query(), "input"),
                            ("batch=1&batch=1&input=%7B%7D", "batch"),
                            ("batch=1&batch=0&" + ok_query(), "batch"),
                            ("batch=0&batch=1&input=%7B%7D", "batch")):
            with self.subTest(query=query):
                resp = self.q(query)
                self.assert_error(resp, 400, "BAD_REQUEST",
                                  'Duplicate query parameter "%s"' % name, ABSENT)
        # unknown and empty parameters are ignored, as URLSearchParams does
        d = self.ok_data(self.q("&&x=1&" + ok_query() + "&input2=3&="))
        self.assertEqual(d["courseId"], COURSE)
        # parameter names are case-sensitive: Input is not input
        err = self.assert_error(self.q("Input=" + enc(dumps({"courseId": COURSE}))), 400,
                                "BAD_REQUEST")
        self.assertEqual(self.issues(err)[0]["message"], "Required")

    def test_duplicate_json_keys_last_wins(self):
        # JSON.parse keeps the last value of a repeated key
        bad = '{"courseId":"%s","courseId":"nope"}' % COURSE
        good = '{"courseId":"nope","courseId":"%s"}' % COURSE
        err = self.assert_error(self.q("input=" + enc(bad)), 400, "BAD_REQUEST")
        self.assertEqual(self.issues(err)[0]["validation"], "uuid")
        self.assertEqual(self.ok_data(self.q("input=" + enc(good)))["courseId"], COURSE)
        self.assertEqual(self.ok_data(self.post(good))["courseId"], COURSE)

    def test_input_of_the_wrong_type(self):
        for value, zod in (([{"courseId": COURSE}], "array"), (COURSE, "string"),
                           (5, "number"), (None, "null"), (True, "boolean"), ([], "array")):
            for via in ("query", "POST"):
                with self.subTest(value=value, via=via):
                    resp = (self.q("input=" + enc(dumps(value))) if via == "query"
                            else self.post(dumps(value)))
                    err = self.assert_error(resp, 400, "BAD_REQUEST", None, PROC)
                    self.assertEqual(self.issues(err), [{
                        "code": "invalid_type", "expected": "object", "received": zod,
                        "path": [], "message": "Expected object, received " + zod}])

    def test_batch_entries_of_the_wrong_type(self):
        inp = {"0": [COURSE], "1": COURSE, "2": {"courseId": COURSE}, "3": {"courseId": [COURSE]}}
        resp = self.get(target(self.stack, [PROC] * 4, batch=True, input=inp), self.auth)
        self.assertEqual(resp.status, 207, resp)
        body = resp.json()
        self.assertEqual(len(body), 4)
        for i in (0, 1, 3):
            self.assert_error_obj(body[i]["error"], 400, "BAD_REQUEST", None, PROC)
        self.assertEqual(body[2]["result"]["data"]["courseId"], COURSE)
        self.assertEqual(strict_loads(body[3]["error"]["message"])[0]["received"], "array")

    def test_crlf_in_values_reflected_in_the_answer(self):
        # no such procedure (the path is looked up before the method): 404, whatever
        # the method, with the path reflected in the body only, escaped
        for tgt, method in (("/trpc/generation.getStatus%0d%0aX-Evil:%201?" + ok_query(), "GET"),
                            ("/trpc/x%0aSet-Cookie:%20a=b", "PUT"),
                            ("/trpc/generation.getStatus%0d%0a%0d%0a%7B%7D", "DELETE")):
            with self.subTest(target=tgt, method=method):
                resp = self.req(method, tgt, self.auth, b"" if method != "GET" else None)
                names = {k.lower() for k, _ in resp.raw_headers}
                self.assertNotIn("x-evil", names)
                self.assertNotIn("set-cookie", names)
                err = self.assert_trpc_shaped(resp, 404)
                self.assertEqual(err["data"]["code"], "NOT_FOUND")
                self.assertEqual(err["data"]["path"], urllib.parse.unquote(
                    tgt[len("/trpc/"):].split("?", 1)[0]))
                self.assertNotIn("allow", names)
        resp = self.req("POST", target(self.stack), dict(self.auth, **{
            "Content-Type": "text/plain; x=\"a\\\"b\""}), b"{}")
        self.assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE", None, ABSENT)

    def test_over_deep_json(self):
        for depth, ok in ((32, True), (33, False), (1000, False)):
            for via in ("query", "POST"):
                with self.subTest(depth=depth, via=via):
                    text = "[" * depth + "]" * depth
                    resp = (self.q("input=" + text) if via == "query" else self.post(text))
                    if ok:   # JSON, so the schema speaks
                        err = self.assert_error(resp, 400, "BAD_REQUEST", None, PROC)
                        self.assertEqual(self.issues(err)[0]["received"], "array")
                    else:
                        self.assert_bad_json(resp, "nesting too deep")
        # deep objects in a POST body near the body limit
        text = '{"a":' * 10000 + "1" + "}" * 10000
        self.assert_bad_json(self.post(text), "nesting too deep")
        # and inside a batch entry
        inp = '{"0":' + "[" * 40 + "]" * 40 + "}"
        resp = self.get(target(self.stack, [PROC], batch=True, raw_input=enc(inp)), self.auth)
        self.assertEqual(resp.status, 400, resp)

    def test_random_garbage_keeps_workers_serving(self):
        """A deterministic burst of mutated requests: every answer is tRPC-shaped JSON with
        a 4xx status (never 5xx), and valid calls still work between them."""
        rnd = random.Random(4242)
        base = [ok_query(), "batch=1&" + ok_query().replace("input=", "input=" + enc('{"0":')) +
                enc("}"), "batch=1&input=" + enc(dumps({"0": {"courseId": COURSE}}))]
        alphabet = "%{}[]\":,\\0aZ-&=+ \x7f" + "".join(chr(c) for c in range(0x20, 0x7f, 7))
        statuses = set()
        for i in range(150):
            q = list(rnd.choice(base))
            for _ in range(rnd.randint(1, 6)):
                pos = rnd.randrange(len(q) + 1)
                op = rnd.random()
                if op < 0.4 and q:
                    del q[min(pos, len(q) - 1)]
                elif op < 0.8:
                    q.insert(pos, rnd.choice(alphabet))
                else:
                    q.insert(pos, "%" + "%02x" % rnd.randrange(256))
            query = "".join(q).replace(" ", "%20").replace("\x7f", "%7f")
            procs = ",".join([PROC] * rnd.randint(1, 3)) if "batch" in query else PROC
            resp = self.get(self.stack.base + "/" + procs + "?" + query, self.auth)
            statuses.add(resp.status)
            self.assertLess(resp.status, 500, (query, resp))
            self.assertEqual(media_type(resp), "application/json", (query, resp))
            body = resp.json()
            self.assertIsInstance(body, (dict, list), query)
            if i % 25 == 0:
                self.assertEqual(self.ok_data(self.q(ok_query()))["courseId"], COURSE)
        self.assertTrue(statuses & {400}, statuses)

    def test_zz_no_crash_in_the_log(self):
        log = self.stack.service_log()[self.log_start:]
        for needle in ("AddressSanitizer", "runtime error", "Segmentation", "core dumped",
                       "double free", "LeakSanitizer", "abort"):
            self.assertNotIn(needle, log)
        self.assert_log_clean()


class CgiLimits(E2ECase):
    """The program's own limits as a plain CGI program (no nginx in front to cut anything
    off first): query string, body size from CONTENT_LENGTH before reading, batch size,
    nesting depth, token length, CR/LF in the variables that could reach a header."""

    def env(self, method="GET", script="/trpc/" + PROC, query="", extra=None):
        e = dict(self.stack.service_env)
        e.update({"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
                  "REQUEST_METHOD": method, "SCRIPT_NAME": script, "QUERY_STRING": query,
                  "HTTP_AUTHORIZATION": "Bearer " + token(self.stack, OWNER)})
        for k, v in (extra or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def run_cgi(self, body=b"", **kw):
        p = subprocess.run([self.stack.service.binary], input=body, env=self.env(**kw),
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        status, headers, out = parse_cgi(p.stdout)
        names = {n for n, _ in headers}
        self.assertTrue(names <= SERVICE_HEADERS, headers)
        for n, v in headers:
            self.assertNotIn("\r", v)
            self.assertNotIn("\n", v)
        return status, strict_loads(out) if out else None

    def assert_cgi_error(self, got, status, key, message=None, path=ABSENT):
        st, body = got
        self.assertEqual(st, status, body)
        self.assertEqual(list(body.keys()), ["error"], body)
        self.assert_error_obj(body["error"], status, key, message, path)
        return body["error"]

    def test_query_string_over_max_query(self):
        pad = "&pad=" + "x" * 120000
        self.assert_cgi_error(self.run_cgi(query=ok_query() + pad), 400, "BAD_REQUEST",
                              QUERY_TOO_LONG)
        st, body = self.run_cgi(query=ok_query() + "&pad=" + "x" * 16000)
        self.assertEqual(st, 200, body)

    def test_content_length_checked_before_reading(self):
        # stdin stays open and empty: a program that tried to read 100 GB would hang
        env = self.env(method="POST", extra={"CONTENT_TYPE": "application/json",
                                             "CONTENT_LENGTH": "99999999999"})
        p = subprocess.Popen([self.stack.service.binary], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 5
            while p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertIsNotNone(p.poll(), "CGI waited for a body it should refuse unread")
            out = p.stdout.read()
        finally:
            if p.poll() is None:
                p.kill()
            p.stdin.close()
            p.wait()
            p.stdout.close()
            p.stderr.close()
        status, _, body = parse_cgi(out)
        self.assertEqual(status, 413, out)
        self.assert_error_obj(strict_loads(body)["error"], 413, "PAYLOAD_TOO_LARGE", None,
                              ABSENT)

    def test_body_over_max_body(self):
        body = dumps({"courseId": COURSE}).encode()
        self.assert_cgi_error(self.run_cgi(body + b" " * 70000, method="POST", extra={
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body) + 70000)}),
            413, "PAYLOAD_TOO_LARGE")

    def test_bad_content_length(self):
        for clen in ("-1", "12abc", "18446744073709551617", " 2", "0x2", "+2", ""):
            with self.subTest(content_length=clen):
                got = self.run_cgi(b"{}", method="POST", extra={
                    "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": clen})
                if clen == "":
                    # no length: no body, so no input
                    self.assertEqual(got[0], 400)
                    continue
                self.assert_cgi_error(got, 400, "BAD_REQUEST", BAD_CLEN)
        # longer than what arrives: the body is incomplete, not silently truncated
        self.assert_cgi_error(self.run_cgi(b"{}", method="POST", extra={
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "100"}),
            400, "BAD_REQUEST", BODY_INCOMPLETE)

    def test_batch_over_max_batch(self):
        self.assert_cgi_error(self.run_cgi(script="/trpc/" + ",".join([PROC] * 1000),
                                           query="batch=1&input=%7B%7D"),
                              400, "BAD_REQUEST", BATCH_TOO_BIG)

    def test_deep_json_body(self):
        text = ("[" * 30000 + "]" * 30000).encode()
        got = self.run_cgi(text, method="POST", extra={"CONTENT_TYPE": "application/json",
                                                       "CONTENT_LENGTH": str(len(text))})
        err = self.assert_cgi_error(got, 400, "BAD_REQUEST", None, PROC)
        self.assertIn("nesting too deep", err["message"])

    def test_oversized_token(self):
        good = token(self.stack, OWNER)
        for tok in (good + "A" * (8193 - len(good)), "eyJ" + "A" * 100000 + ".e30.x",
                    good + "." + "A" * 20000):
            with self.subTest(length=len(tok)):
                self.assert_cgi_error(self.run_cgi(query=ok_query(), extra={
                    "HTTP_AUTHORIZATION": "Bearer " + tok}), 401, "UNAUTHORIZED", MSG_UNAUTH,
                    PROC)

    def test_crlf_in_header_bound_variables(self):
        # Each variable the service may echo or match reaches it with CR LF and a forged
        # header: run_cgi checks that no header line carries CR or LF and that no header
        # but the service's own appears; here, that each request gets the answer its
        # value earns (the forged text kept inside the JSON string, never a header), and
        # that a trpc-accept or accept of "application/jsonl<CRLF>..." is not taken for
        # application/jsonl (the answer is one JSON array, not a stream).
        evil = "\r\nX-Evil: 1\r\n\r\n{}"
        not_found = 'No procedure found on path "x%s"' % evil
        cases = {
            "SCRIPT_NAME": (dict(script="/trpc/x" + evil), 404, "NOT_FOUND", not_found),
            "PATH_INFO": (dict(script="/trpc", extra={"PATH_INFO": "/x" + evil}),
                          404, "NOT_FOUND", not_found),
            "REQUEST_METHOD": (dict(method="PUT" + evil), 405, "METHOD_NOT_SUPPORTED",
                               'Unsupported PUT%s-request to query procedure at path "%s"'
                               % (evil, PROC)),
            "CONTENT_TYPE": (dict(method="POST", extra={"CONTENT_TYPE": "text/plain" + evil,
                                                        "CONTENT_LENGTH": "2"}),
                             415, "UNSUPPORTED_MEDIA_TYPE",
                             'Unsupported content-type "text/plain%s' % evil),
            "HTTP_TRPC_ACCEPT": (dict(query="batch=1&input=%7B%7D",
                                      extra={"HTTP_TRPC_ACCEPT": "application/jsonl" + evil}),
                                 400, "BAD_REQUEST", None),
            "HTTP_ACCEPT": (dict(query="batch=1&input=%7B%7D",
                                 extra={"HTTP_ACCEPT": "application/jsonl" + evil}),
                            400, "BAD_REQUEST", None),
            "TRPC_BASE": (dict(script="/b" + evil + "/" + PROC,
                               extra={"TRPC_BASE": "/b" + evil}), 400, "BAD_REQUEST", None),
        }
        for name, (kw, status, key, message) in cases.items():
            with self.subTest(variable=name):
                st, body = self.run_cgi(b"{}", **kw)   # headers checked in run_cgi
                self.assertEqual(st, status, body)
                if name.startswith("HTTP_"):
                    # a batch (input {} has no call "0"): one JSON array, not JSONL
                    self.assertIsInstance(body, list, body)
                    self.assertEqual(len(body), 1, body)
                    err = body[0]["error"]
                    self.assert_error_obj(err, status, key, None, PROC)
                    self.assertIn('"invalid_type"', err["message"])
                elif name == "TRPC_BASE":
                    # the base with CR LF is matched as given: the call reaches the
                    # procedure, whose input (none) is refused
                    err = self.assert_cgi_error((st, body), status, key, None, PROC)
                    self.assertIn('"invalid_type"', err["message"])
                else:
                    path = ABSENT if name == "CONTENT_TYPE" else (
                        PROC if name == "REQUEST_METHOD" else "x" + evil)
                    self.assert_cgi_error((st, body), status, key, message, path)


if __name__ == "__main__":
    unittest.main()
