"""The same binary as a plain CGI program (fd 0 not a socket): one request from the
environment and stdin, the answer on stdout. Covers the Apache-style SCRIPT_NAME +
PATH_INFO split and a non-default TRPC_BASE, which nginx's stock parameters never send."""

import subprocess
import tempfile
import unittest

from e2e.common import (E2ECase, OUTSIDER, OWNER, PROC, cid, dumps, enc, insert_courses,
                        shared, strict_loads, token, MSG_FORBIDDEN, MSG_QUEUED, MSG_UNAUTH)

COURSE = cid("cgi/course")


def setUpModule():
    insert_courses(shared(), [dict(id=COURSE, gen_status="queued")])


class Cgi(E2ECase):

    def cgi(self, method="GET", script="/trpc/" + PROC, path_info=None, query="",
            body=b"", headers=None, env=None):
        e = dict(self.stack.service_env)
        e.update({"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
                  "REQUEST_METHOD": method, "SCRIPT_NAME": script, "QUERY_STRING": query,
                  "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                  "REMOTE_ADDR": "127.0.0.1",
                  "REQUEST_URI": script + (path_info or "") + ("?" + query if query else "")})
        if path_info is not None:
            e["PATH_INFO"] = path_info
        if body:
            e["CONTENT_LENGTH"] = str(len(body))
        for k, v in (headers or {}).items():
            if k.lower() == "content-type":
                e["CONTENT_TYPE"] = v
            else:
                e["HTTP_" + k.upper().replace("-", "_")] = v
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = subprocess.run([self.stack.service.binary], input=body, env=e,
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return parse_cgi(p.stdout)

    def auth(self, user=OWNER):
        return {"Authorization": "Bearer " + token(self.stack, user)}

    def q(self, course=COURSE):
        return "input=" + enc(dumps({"courseId": course}))

    def test_nginx_style_script_name(self):
        status, headers, body = self.cgi(query=self.q(), headers=self.auth())
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("content-type", "").split(";")[0], "application/json")
        self.assertEqual(headers.get("vary"), "trpc-accept, accept, Accept-Language")
        self.assertEqual(headers.get("cache-control"), "no-store")
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        d = strict_loads(body)["result"]["data"]
        self.assertEqual(d["courseId"], COURSE)
        self.assertEqual(d["message"], MSG_QUEUED)

    def test_apache_style_path_info(self):
        status, _h, body = self.cgi(script="/trpc", path_info="/" + PROC, query=self.q(),
                                    headers=self.auth())
        self.assertEqual(status, 200, body)
        self.assertEqual(strict_loads(body)["result"]["data"]["courseId"], COURSE)

    def test_custom_trpc_base(self):
        status, _h, body = self.cgi(script="/api/v1/trpc/" + PROC, query=self.q(),
                                    headers=self.auth(), env={"TRPC_BASE": "/api/v1/trpc"})
        self.assertEqual(status, 200, body)
        self.assertEqual(strict_loads(body)["result"]["data"]["courseId"], COURSE)
        status, _h, body = self.cgi(script="/api/v1/cgi-bin/x.cgi", path_info="/" + PROC,
                                    query=self.q(), headers=self.auth(),
                                    env={"TRPC_BASE": "/api/v1/cgi-bin/x.cgi"})
        self.assertEqual(status, 200, body)

    def test_post_and_batch(self):
        body = dumps({"0": {"courseId": COURSE}, "1": {"courseId": COURSE}}).encode()
        h = dict(self.auth(OUTSIDER), **{"Content-Type": "application/json"})
        status, _h, out = self.cgi(method="POST", script="/trpc/%s,%s" % (PROC, PROC),
                                   query="batch=1", body=body, headers=h)
        self.assertEqual(status, 403, out)
        items = strict_loads(out)
        self.assertEqual([i["error"]["message"] for i in items], [MSG_FORBIDDEN] * 2)

    def test_errors(self):
        status, headers, body = self.cgi(query=self.q())
        self.assertEqual(status, 401)
        self.assertEqual(strict_loads(body)["error"]["message"], MSG_UNAUTH)
        status, headers, body = self.cgi(method="DELETE", query=self.q(), headers=self.auth())
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET, POST")
        status, _h, body = self.cgi(method="HEAD", query=self.q())
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")


class CgiBody(E2ECase):
    """The body CONTENT_LENGTH announces is read before the answer, also by answers that
    never look at it (405, 415, 404): mod_cgid holds an answer back while its body is
    unread. stdin is a file here, so its offset afterwards shows what was read."""

    def auth(self, user=OWNER):
        return {"Authorization": "Bearer " + token(self.stack, user)}

    def run_with_file(self, method, body, headers, script="/trpc/" + PROC, extra=b""):
        e = dict(self.stack.service_env)
        e.update({"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
                  "SCRIPT_NAME": script, "QUERY_STRING": "",
                  "CONTENT_LENGTH": str(len(body))})
        for k, v in headers.items():
            if k.lower() == "content-type":
                e["CONTENT_TYPE"] = v
            else:
                e["HTTP_" + k.upper().replace("-", "_")] = v
        with tempfile.TemporaryFile() as f:
            f.write(body + extra)
            f.seek(0)
            p = subprocess.run([self.stack.service.binary], stdin=f, env=e,
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            return parse_cgi(p.stdout), f.tell()

    def test_unread_bodies_are_read(self):
        body = dumps({"courseId": COURSE}).encode()
        json_ct = dict(self.auth(), **{"Content-Type": "application/json"})
        for name, method, headers, script, status in (
                ("405 PUT", "PUT", json_ct, "/trpc/" + PROC, 405),
                ("405 PATCH", "PATCH", json_ct, "/trpc/" + PROC, 405),
                ("415 text/plain", "POST", dict(self.auth(), **{"Content-Type": "text/plain"}),
                 "/trpc/" + PROC, 415),
                ("401 no token", "POST", {"Content-Type": "application/json"},
                 "/trpc/" + PROC, 401),
                ("404 procedure", "POST", json_ct, "/trpc/nope", 404),
                ("200 POST", "POST", json_ct, "/trpc/" + PROC, 200)):
            with self.subTest(case=name):
                (st, _h, out), offset = self.run_with_file(method, body, headers, script)
                self.assertEqual(st, status, out)
                self.assertEqual(offset, len(body), "body not read before the answer")

    def test_reading_is_bounded(self):
        """Never past CONTENT_LENGTH; a body over MAX_BODY is not read at all (413)."""
        json_ct = dict(self.auth(), **{"Content-Type": "application/json"})
        body = b"x" * 100
        (st, _h, _b), offset = self.run_with_file("PUT", body, json_ct, extra=b"y" * 10000)
        self.assertEqual(st, 405)
        self.assertLessEqual(offset, 100 + 8192)  # stdio reads ahead, CONTENT_LENGTH bounds
        big = b"x" * 70000
        (st, _h, out), offset = self.run_with_file("POST", big, json_ct)
        self.assertEqual(st, 413, out)
        self.assertEqual(offset, 0)


def parse_cgi(out):
    """(status, lower-case headers, body) of a CGI response (CRLF or LF line ends)."""
    cuts = [(out.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if sep in out]
    if not cuts:
        raise AssertionError("no CGI header block in %r" % out[:300])
    pos, sep = min(cuts)
    head, body = out[:pos], out[pos + len(sep):]
    headers = {}
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "200").split()[0])
    return status, headers, body


if __name__ == "__main__":
    unittest.main()
