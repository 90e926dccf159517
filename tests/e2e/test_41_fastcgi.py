"""The FastCGI side of a request, straight on the pool's socket, with no web server in
between: every answer arrives whole, whether or not the service read the input.

The worker reads what is left of FCGI_STDIN after answering (a bounded amount) and,
once it has seen its end, closes the connection at once; otherwise it falls back to
libfcgi's graceful close, which waits for the client. Either way the client must get
the whole response, FCGI_END_REQUEST, then an orderly end of stream, never a reset.
"""

import socket
import struct
import unittest

from e2e.common import E2ECase, OWNER, cid, dumps, enc, insert_courses, shared, token

COURSE = cid("fastcgi/queued")

BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def record(rtype, content=b"", req_id=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), pad, 0) + content + \
        b"\0" * pad


def nv(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def fcgi_request(params, body=b"", stdin_chunk=65535):
    """The records a web server sends: BEGIN_REQUEST (responder, no keep-conn), the
    parameters, FCGI_STDIN in chunks and its empty end record."""
    out = record(BEGIN, struct.pack(">HB5x", 1, 0))
    pairs = b"".join(nv(k, v) for k, v in params.items())
    for i in range(0, len(pairs), 65535):
        out += record(PARAMS, pairs[i:i + 65535])
    out += record(PARAMS)
    for i in range(0, len(body), stdin_chunk):
        out += record(STDIN, body[i:i + stdin_chunk])
    return out + record(STDIN)


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


class FastCGIClose(E2ECase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        insert_courses(shared(), [dict(id=COURSE, gen_status="queued")])
        cls.tok = token(cls.stack, OWNER)

    def exchange(self, method, query="", body=b"", ctype=None, stdin_chunk=65535):
        """One request on a new connection. Returns (headers, body, app status) once the
        server has closed the connection, and fails on a reset."""
        params = {"REQUEST_METHOD": method, "SCRIPT_NAME": "/trpc/generation.getStatus",
                  "REQUEST_URI": "/trpc/generation.getStatus", "QUERY_STRING": query,
                  "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
                  "HTTP_AUTHORIZATION": "Bearer " + self.tok}
        if body or ctype:
            params["CONTENT_LENGTH"] = str(len(body))
        if ctype:
            params["CONTENT_TYPE"] = ctype
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(self.stack.service.sock)
            s.sendall(fcgi_request(params, body, stdin_chunk))
            out, status = b"", None
            while status is None:
                version, rtype, _, clen, pad, _ = struct.unpack(">BBHHBB", read_exact(s, 8))
                content = read_exact(s, clen + pad)[:clen]
                if rtype == STDOUT:
                    out += content
                elif rtype == END:
                    status = struct.unpack(">IB3x", content)
                elif rtype != STDERR:
                    self.fail("unexpected record type %d" % rtype)
            # then an orderly end of stream (ConnectionResetError fails the test)
            self.assertEqual(s.recv(1), b"", "data after FCGI_END_REQUEST")
        finally:
            s.close()
        head, _, payload = out.partition(b"\r\n\r\n")
        return head.decode(), payload, status

    def test_get_whole_answer_then_end_of_stream(self):
        q = "input=" + enc(dumps({"courseId": COURSE}))
        for _ in range(20):
            head, body, status = self.exchange("GET", q)
            self.assertEqual(status, (0, 0))
            self.assertIn("Status: 200 OK", head)
            self.assertIn(b'"status":"queued"', body)
            self.assertTrue(body.endswith(b"}}}"), body[-40:])

    def test_unread_bodies_of_every_size(self):
        """415 (the content type, checked first) and 413 (CONTENT_LENGTH over MAX_BODY)
        are answered without reading the body: bodies the worker can drain (up to its
        bound) and bodies it cannot (then libfcgi's graceful close) both leave the
        answer whole, and the worker serves the next request."""
        q = "input=" + enc(dumps({"courseId": COURSE}))
        cases = [("text/plain", n, "415", b'"UNSUPPORTED_MEDIA_TYPE"')
                 for n in (0, 1, 4096, 60000, 65536, 200000, 1000000)]
        cases += [("application/json", n, "413", b'"PAYLOAD_TOO_LARGE"')
                  for n in (65537, 200000, 1000000)]
        for ctype, size, code, name in cases:
            for chunk in (65535, 1000):
                with self.subTest(ctype=ctype, size=size, chunk=chunk):
                    head, body, status = self.exchange("POST", "", b"x" * size, ctype,
                                                       chunk)
                    self.assertEqual(status, (0, 0))
                    self.assertIn("Status: " + code, head)
                    self.assertIn(name, body)
                    self.assertTrue(body.endswith(b"}}}"), body[-40:])
                    head, body, _ = self.exchange("GET", q)
                    self.assertIn("Status: 200 OK", head)

    def test_post_body_read_then_closed(self):
        body = dumps({"courseId": COURSE}).encode()
        head, payload, status = self.exchange("POST", "", body, "application/json", 7)
        self.assertEqual(status, (0, 0))
        self.assertIn("Status: 200 OK", head)
        self.assertIn(b'"status":"queued"', payload)


if __name__ == "__main__":
    unittest.main()
