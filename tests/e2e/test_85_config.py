"""Configuration through the environment, on a stack of its own: JWT_SECRET_FILE (trailing
newline stripped), MAX_BATCH, JWT_LEEWAY, CACHE_TTL_MS=0, MAX_BODY, MAX_QUERY."""

import os
import tempfile
import time
import unittest

from e2e.common import (OwnStackCase, ABSENT, OWNER, PROC, batch_input, bearer, cid, claims,
                        dumps, insert_courses, jwt, target, token, MSG_UNAUTH)

SECRET = "file-secret-\u00e9-7f3a9c"  # non-ASCII: the secret is the raw UTF-8 bytes
C = cid("config/course")
_dir = None
SECRET_FILE = None


def setUpModule():
    global _dir, SECRET_FILE
    _dir = tempfile.mkdtemp(prefix="coursegen-e2e-secret-")
    SECRET_FILE = os.path.join(_dir, "jwt_secret")
    with open(SECRET_FILE, "w", encoding="utf-8") as f:
        f.write(SECRET + "\n")
    os.chmod(_dir, 0o755)
    os.chmod(SECRET_FILE, 0o644)
    Config.stack_kwargs["env"]["JWT_SECRET_FILE"] = SECRET_FILE


def tearDownModule():
    os.unlink(SECRET_FILE)
    os.rmdir(_dir)


class Config(OwnStackCase):
    # JWT_SECRET_FILE is filled in by setUpModule (the file is created there)
    stack_kwargs = dict(workers=1, secret=SECRET, env={
        "JWT_SECRET": None, "JWT_SECRET_FILE": None, "MAX_BATCH": "3",
        "JWT_LEEWAY": "0", "CACHE_TTL_MS": "0", "MAX_BODY": "1000", "MAX_QUERY": "2000"})

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [dict(id=C, gen_status="queued")])

    def test_secret_file(self):
        self.ok_data(self.status_of(C))
        tok = jwt(claims(OWNER), SECRET + "\n")
        self.assert_error(self.status_of(C, tok=tok), 401, "UNAUTHORIZED", MSG_UNAUTH)
        tok = jwt(claims(OWNER), "coursegen-test-secret-0123456789abcdef")
        self.assert_error(self.status_of(C, tok=tok), 401, "UNAUTHORIZED", MSG_UNAUTH)

    def test_max_batch(self):
        auth = bearer(token(self.stack, OWNER))
        resp = self.get(target(self.stack, [PROC] * 3, batch=True,
                               input=batch_input(*[{"courseId": C}] * 3)), auth)
        self.assertEqual(resp.status, 200, resp)
        resp = self.get(target(self.stack, [PROC] * 4, batch=True,
                               input=batch_input(*[{"courseId": C}] * 4)), auth)
        self.assert_error(resp, 400, "BAD_REQUEST", "Batch call exceeds maximum size", ABSENT)
        self.assert_std_headers(resp)

    def test_leeway_zero(self):
        now = int(time.time())
        self.assert_error(self.status_of(C, tok=jwt(claims(OWNER, exp=now - 5), SECRET)), 401,
                          "UNAUTHORIZED", MSG_UNAUTH)
        self.assert_error(self.status_of(C, tok=jwt(claims(OWNER, nbf=now + 5), SECRET)), 401,
                          "UNAUTHORIZED", MSG_UNAUTH)
        self.ok_data(self.status_of(C, tok=jwt(claims(OWNER, exp=now + 60), SECRET)))

    def test_cache_off(self):
        course = cid("config/cache-off")
        insert_courses(self.stack, [dict(id=course, gen_status="queued")])
        self.assertEqual(self.ok_data(self.status_of(course))["status"], "queued")
        self.stack.psql("UPDATE courses SET generation_status='cancelled' WHERE id='%s';"
                        % course)
        self.assertEqual(self.ok_data(self.status_of(course))["status"], "cancelled")

    def test_max_body_from_the_service(self):
        auth = dict(bearer(token(self.stack, OWNER)), **{"Content-Type": "application/json"})
        text = dumps({"courseId": C})
        resp = self.req("POST", target(self.stack), auth, text + " " * (1000 - len(text)))
        self.ok_data(resp)
        resp = self.req("POST", target(self.stack), auth, text + " " * (1001 - len(text)))
        self.assert_error(resp, 413, "PAYLOAD_TOO_LARGE", None, ABSENT)
        self.assert_std_headers(resp)

    def test_max_query_from_the_service(self):
        auth = bearer(token(self.stack, OWNER))
        ok = target(self.stack, input={"courseId": C, "pad": "x" * 1900})
        self.assertLessEqual(len(ok.split("?", 1)[1]), 2000)
        self.ok_data(self.get(ok, auth))
        # far under nginx's request-line buffer: the service's own refusal, not nginx's 414
        resp = self.get(target(self.stack, input={"courseId": C, "pad": "x" * 2100}), auth)
        self.assert_error(resp, 400, "BAD_REQUEST", "Query string exceeds the maximum length",
                          ABSENT)
        self.assert_std_headers(resp)

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
