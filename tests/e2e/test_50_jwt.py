"""JWT authentication: HS256 only (alg pinned), exp required, nbf honoured, leeway 30 s,
and every failure is the same 401 with the same generic message."""

import json
import os
import time
import unittest

from mint_token import mint

from e2e.common import (E2ECase, OWNER, PROC, b64u, bearer, cid, claims, dumps,
                        insert_courses, jwt, remember, shared, target, token, MSG_UNAUTH)

COURSE = cid("jwt/course")


def setUpModule():
    insert_courses(shared(), [dict(id=COURSE, gen_status="queued")])


class Jwt(E2ECase):

    def call(self, headers):
        return self.get(target(self.stack, input={"courseId": COURSE}), headers)

    def bad_tokens(self):
        sec = self.stack.secret
        now = int(time.time())
        good = jwt(claims(OWNER), sec)
        h, p, s = good.split(".")
        # alg none header, but carrying a real HS256 signature of that header+payload
        signed_none = jwt(claims(OWNER), sec, header={"alg": "none", "typ": "JWT"})
        giant = remember("eyJhbGciOiJIUzI1NiJ9." + b64u(os.urandom(7000)) + "." + s)
        tokens = {
            "expired beyond leeway": jwt(claims(OWNER, exp=now - 90), sec),
            "expired a day ago": jwt(claims(OWNER, exp=now - 86400), sec),
            "exp zero": jwt(claims(OWNER, exp=0), sec),
            "nbf in the future": jwt(claims(OWNER, nbf=now + 300), sec),
            "no exp": jwt(claims(OWNER, exp=None), sec),
            "exp a string": jwt(claims(OWNER, exp=str(now + 3600)), sec),
            "exp true": jwt(claims(OWNER, exp=True), sec),
            "wrong secret": jwt(claims(OWNER), sec + "x"),
            "empty secret": jwt(claims(OWNER), ""),
            "harness token, wrong secret": remember(self.stack.token(OWNER, secret="nope")),
            "alg none, no signature": remember(mint(sec, claims(OWNER), "none")),
            "alg none, HS256 signature": signed_none,
            "alg NoNe": jwt(claims(OWNER), sec, header={"alg": "NoNe"}),
            "HS512 with the right secret": jwt(claims(OWNER), sec, alg="HS512"),
            "HS384 with the right secret": jwt(claims(OWNER), sec, alg="HS384"),
            "RS256 header, HS256 signature": jwt(claims(OWNER), sec,
                                                 header={"alg": "RS256", "typ": "JWT"}),
            "no alg in header": jwt(claims(OWNER), sec, header={"typ": "JWT"}),
            "header alg lower case": jwt(claims(OWNER), sec, header={"alg": "hs256"}),
            "truncated signature": remember(good[:-4]),
            "signature dropped": remember(h + "." + p + "."),
            "two segments": remember(h + "." + p),
            "one segment": remember(h),
            "four segments": remember(good + "." + s),
            "empty segments": remember(".."),
            "bad base64 in payload": remember(h + "." + p[:10] + "*" + p[11:] + "." + s),
            "bad base64 in signature": remember(h + "." + p + "." + s[:10] + "!" + s[11:]),
            "payload not JSON": jwt(None, sec, raw_payload="hello world"),
            "payload a JSON array": jwt(None, sec, raw_payload=dumps([OWNER])),
            "payload a JSON string": jwt(None, sec, raw_payload=dumps(OWNER)),
            "header not JSON": remember(b64u("nope") + "." + p + "." + s),
            "tampered payload": remember(h + "." + b64u(json.dumps(
                claims("99999999-9999-4999-8999-999999999999"), separators=(",", ":")))
                + "." + s),
            "signature of another token": remember(
                jwt(claims(OWNER, role="admin"), sec).rsplit(".", 1)[0] + "." + s),
            "giant garbage token": giant,
            "non-ASCII token": remember(h + "." + p + ".sígnature"),
        }
        return tokens

    def test_bad_tokens_all_same_401(self):
        bodies = set()
        for name, tok in self.bad_tokens().items():
            with self.subTest(case=name):
                try:
                    resp = self.call(bearer(tok))
                except UnicodeEncodeError:
                    continue  # http.client refuses non-Latin-1 header values
                self.assert_error(resp, 401, "UNAUTHORIZED", MSG_UNAUTH, PROC)
                bodies.add(resp.body)
        self.assertEqual(len(bodies), 1, "401 bodies differ (they must not say why)")

    def test_bad_authorization_headers_all_same_401(self):
        good = token(self.stack, OWNER)
        cases = {
            "no header": {},
            "empty header": {"Authorization": ""},
            "Basic": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
            "Bearer only": {"Authorization": "Bearer"},
            "Bearer and space": {"Authorization": "Bearer "},
            "token without scheme": {"Authorization": good},
            "Token scheme": {"Authorization": "Token " + good},
            "Bearer twice": {"Authorization": "Bearer Bearer " + good},
            "token in a cookie only": {"Cookie": "sb-access-token=" + good},
            "token in the query only": None,
        }
        bodies = set()
        for name, h in cases.items():
            with self.subTest(case=name):
                if h is None:
                    resp = self.get(target(self.stack, input={"courseId": COURSE},
                                           extra="access_token=" + good))
                else:
                    resp = self.call(h)
                self.assert_error(resp, 401, "UNAUTHORIZED", MSG_UNAUTH, PROC)
                bodies.add(resp.body)
        self.assertEqual(len(bodies), 1)

    def test_valid_tokens_accepted(self):
        sec = self.stack.secret
        now = int(time.time())
        cases = {
            "harness token": token(self.stack, OWNER),
            "exp within leeway (10 s ago)": jwt(claims(OWNER, exp=now - 10), sec),
            "nbf within leeway (10 s ahead)": jwt(claims(OWNER, nbf=now + 10), sec),
            "nbf in the past": jwt(claims(OWNER, nbf=now - 100), sec),
            "no typ header": jwt(claims(OWNER), sec, header={"alg": "HS256"}),
            "extra header fields": jwt(claims(OWNER), sec,
                                       header={"alg": "HS256", "typ": "JWT", "kid": "k1"}),
            "no iat, no role": jwt(claims(OWNER, iat=None, role=None), sec),
            "far future exp": jwt(claims(OWNER, exp=now + 10 * 365 * 86400), sec),
            "supabase-like claims": jwt(dict(claims(None, sub=OWNER), aud="authenticated",
                                             iss="https://x.supabase.co/auth/v1",
                                             email="a@example.com",
                                             app_metadata={"provider": "email"}), sec),
        }
        for name, tok in cases.items():
            with self.subTest(case=name):
                d = self.ok_data(self.call(bearer(tok)))
                self.assertEqual(d["courseId"], COURSE)

    def test_expiry_boundary_is_leeway(self):
        # 30 s of leeway: 20 s past exp passes, 45 s past exp does not
        sec = self.stack.secret
        now = int(time.time())
        self.ok_data(self.call(bearer(jwt(claims(OWNER, exp=now - 20), sec))))
        self.assert_error(self.call(bearer(jwt(claims(OWNER, exp=now - 45), sec))), 401,
                          "UNAUTHORIZED", MSG_UNAUTH)
        self.ok_data(self.call(bearer(jwt(claims(OWNER, nbf=now + 20), sec))))
        self.assert_error(self.call(bearer(jwt(claims(OWNER, nbf=now + 45), sec))), 401,
                          "UNAUTHORIZED", MSG_UNAUTH)

    def test_auth_before_input_validation(self):
        bad = bearer(jwt(claims(OWNER), self.stack.secret + "x"))
        for name, tgt in (("bad uuid", target(self.stack, input={"courseId": "x"})),
                          ("missing input", target(self.stack)),
                          ("input array", target(self.stack, input=[1])),
                          ("input not JSON", target(self.stack, raw_input="%7B"))):
            with self.subTest(case=name):
                self.assert_error(self.get(tgt, bad), 401, "UNAUTHORIZED", MSG_UNAUTH)
        with self.subTest(case="POST bad uuid"):
            h = dict(bad, **{"Content-Type": "application/json"})
            resp = self.req("POST", target(self.stack), h, dumps({"courseId": "x"}))
            self.assert_error(resp, 401, "UNAUTHORIZED", MSG_UNAUTH)


if __name__ == "__main__":
    unittest.main()
