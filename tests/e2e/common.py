"""Shared helpers of the end-to-end suite: the shared stack, raw HTTP, JWTs, fixtures.

Everything goes over real HTTP to nginx (scripts/localstack.py starts PostgreSQL, the FastCGI
workers and nginx with the shipped configuration). Responses are parsed strictly: no NaN or
Infinity, no duplicate keys, key order kept, so field order can be asserted.
"""

import base64
import hashlib
import hmac
import http.client
import json
import time
import unittest
import urllib.parse
import uuid

from localstack import Stack  # scripts/localstack.py (PYTHONPATH includes scripts/)

PROC = "generation.getStatus"

# Fixed users and organizations used by every module.
OWNER = "11111111-1111-4111-8111-111111111111"
MEMBER = "22222222-2222-4222-8222-222222222222"
OUTSIDER = "33333333-3333-4333-8333-333333333333"
OTHER_MEMBER = "44444444-4444-4444-8444-444444444444"  # member of OTHER_ORG only
ORG = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
OTHER_ORG = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
MISSING_COURSE = "0ddba11d-0000-4000-8000-00000000dead"

# Messages (contract + spec).
MSG_UNAUTH = "Invalid or missing access token"
MSG_FORBIDDEN = "You do not have access to this course"
MSG_NOT_FOUND = "Course not found"
MSG_INTERNAL = "Internal server error"
MSG_UNAVAILABLE = "Service temporarily unavailable"
MSG_DB_TIMEOUT = "Database query timed out"
MSG_IDLE = "Генерация не начата"
MSG_QUEUED = "Ожидание в очереди"
MSG_META = "Генерация метаданных курса"
MSG_VALID = "Проверка качества"
MSG_SAVING = "Сохранение результатов"
MSG_DONE = "Генерация завершена"
MSG_FAILED = "Ошибка генерации"
MSG_CANCELLED = "Генерация отменена"


def msg_sections(pct):
    return "Генерация секций (%d%% завершено)" % pct


# tRPC error keys -> (JSON-RPC code, HTTP status).
CODES = {
    "PARSE_ERROR": (-32700, 400),
    "BAD_REQUEST": (-32600, 400),
    "UNAUTHORIZED": (-32001, 401),
    "FORBIDDEN": (-32003, 403),
    "NOT_FOUND": (-32004, 404),
    "METHOD_NOT_SUPPORTED": (-32005, 405),
    "PAYLOAD_TOO_LARGE": (-32013, 413),
    "UNSUPPORTED_MEDIA_TYPE": (-32015, 415),
    "INTERNAL_SERVER_ERROR": (-32603, 500),
    "BAD_GATEWAY": (-32603, 502),
    "SERVICE_UNAVAILABLE": (-32603, 503),
    "GATEWAY_TIMEOUT": (-32603, 504),
}

DATA_KEYS = ["courseId", "status", "phase", "progress", "message",
             "estimatedRemainingSeconds", "startedAt", "lastUpdatedAt", "metadata"]

_NS = uuid.UUID("5f0c3a52-6b1e-4c55-9d8e-2f6f3b1f0e11")


def cid(name):
    """A fixed course UUID derived from a readable fixture name (uuid5, lower case)."""
    return str(uuid.uuid5(_NS, name))


# ---------------------------------------------------------------- strict JSON

def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in JSON object: %r" % keys)
    return dict(pairs)


def _no_constants(name):
    raise ValueError("non-standard JSON constant %s" % name)


def strict_loads(data):
    """Parse JSON bytes/str as a browser would accept it; NaN/Infinity/duplicates fail."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data, object_pairs_hook=_pairs, parse_constant=_no_constants)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def enc(text):
    """encodeURIComponent."""
    return urllib.parse.quote(text, safe="-_.!~*'()")


# ---------------------------------------------------------------- raw HTTP

class Resp:
    def __init__(self, status, headers, raw_headers, body):
        self.status = status
        self.headers = headers          # lower-case name -> value (repeats joined by ", ")
        self.raw_headers = raw_headers  # [(name, value)] as received
        self.body = body

    def json(self):
        return strict_loads(self.body)

    def __repr__(self):
        return "<HTTP %d %r %r>" % (self.status, self.headers, self.body[:600])


def request(stack, method, target, headers=None, body=None, timeout=30):
    """One HTTP/1.1 request to the stack's nginx; no header is added except Host and
    Content-Length (http.client adds Content-Length for bodies, and 0 for POST/PUT/PATCH)."""
    u = urllib.parse.urlsplit(stack.url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and not any(k.lower() == "content-length" for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        raw = r.getheaders()
        merged = {}
        for k, v in raw:
            k = k.lower()
            merged[k] = merged[k] + ", " + v if k in merged else v
        return Resp(r.status, merged, raw, data)
    finally:
        conn.close()


_MISSING = object()


def target(stack, procs=PROC, input=_MISSING, batch=False, raw_input=None, extra=""):
    """Path + query for a call. input is JSON-encoded; raw_input is put in the URL as is."""
    if isinstance(procs, (list, tuple)):
        procs = ",".join(procs)
    path = stack.base.rstrip("/") + "/" + procs
    params = []
    if batch:
        params.append("batch=1")
    if raw_input is not None:
        params.append("input=" + raw_input)
    elif input is not _MISSING:
        params.append("input=" + enc(dumps(input)))
    if extra:
        params.append(extra)
    return path + ("?" + "&".join(params) if params else "")


def batch_input(*inputs):
    return {str(i): v for i, v in enumerate(inputs)}


# ---------------------------------------------------------------- JWT

USED_TOKENS = set()  # every token sent, checked against the service log at the end


def remember(tok):
    USED_TOKENS.add(tok)
    return tok


def b64u(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt(payload, secret, alg="HS256", header=None, raw_payload=None):
    """Build a JWT by hand. header overrides the default {"alg","typ"}; alg 'none' gives an
    empty signature; raw_payload (str) is used verbatim instead of JSON-encoding payload."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    h = b64u(json.dumps(hdr, separators=(",", ":")))
    p = b64u(raw_payload if raw_payload is not None else json.dumps(payload, separators=(",", ":")))
    signing = (h + "." + p).encode("ascii")
    if alg == "none":
        sig = ""
    else:
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
                  "HS512": hashlib.sha512}[alg]
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        sig = b64u(hmac.new(key, signing, digest).digest())
    return remember(h + "." + p + "." + sig)


def claims(user=OWNER, **extra):
    now = int(time.time())
    c = {"user_id": user, "role": "authenticated", "iat": now, "exp": now + 3600}
    for k, v in extra.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    if user is None:
        c.pop("user_id", None)
    return c


def token(stack, user=OWNER, **extra):
    """A valid HS256 token from the harness (recorded for the secret-leak check)."""
    return remember(stack.token(user, **extra))


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


# ---------------------------------------------------------------- SQL fixtures

class Raw(str):
    """An SQL expression inserted verbatim (e.g. now() - interval '75 seconds')."""


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, Raw):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def jsonb(v):
    """None -> SQL NULL; Raw -> verbatim JSON text; anything else -> json.dumps."""
    if v is None:
        return "NULL"
    text = str(v) if isinstance(v, Raw) else json.dumps(v, ensure_ascii=False)
    return lit(text) + "::jsonb"


T0 = "2025-11-05T12:00:00Z"


def course_values(id, gen_status=None, meta=None, created=T0, updated=T0,
                  owner=OWNER, org=ORG):
    return "(%s,%s,%s,%s,%s,%s,(%s)::timestamptz,(%s)::timestamptz)" % (
        lit(id), lit(owner), lit(org), lit("e2e " + id), lit(gen_status), jsonb(meta),
        lit(created), lit(updated))


def insert_courses(stack, rows):
    """rows: iterable of dicts with course_values() keyword arguments. One statement, so
    now() is the same instant for every row."""
    rows = list(rows)
    if not rows:
        return
    sql = ("INSERT INTO courses (id,user_id,organization_id,title,generation_status,"
           "generation_metadata,created_at,updated_at) VALUES\n" +
           ",\n".join(course_values(**r) for r in rows) + ";")
    stack.psql(sql)


def add_member(stack, user, org, role="member"):
    stack.psql("INSERT INTO user_organizations (user_id, organization_id, role) VALUES "
               "(%s,%s,%s) ON CONFLICT DO NOTHING;" % (lit(user), lit(org), lit(role)))


def remove_member(stack, user, org):
    stack.psql("DELETE FROM user_organizations WHERE user_id=%s AND organization_id=%s;"
               % (lit(user), lit(org)))


def seed_users(stack):
    add_member(stack, MEMBER, ORG)
    add_member(stack, OTHER_MEMBER, OTHER_ORG)


# ---------------------------------------------------------------- stacks

_SHARED = None


def wait_for(cond, timeout=10.0, step=0.05):
    """Poll cond() every `step` seconds until it is true or `timeout` (a generous
    bound, never a synchronisation) has passed; return its last value as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


def start_stack(**kw):
    """A new Stack (started on return). Sample data is never loaded: every module inserts
    its own fixtures with fixed ids."""
    kw.setdefault("sample", False)
    st = Stack(**kw)
    seed_users(st)
    return st


def stop_stack(st):
    st.close()


def shared():
    """The stack most modules share (2 workers, default configuration), started once and
    stopped at interpreter exit (by the harness); test_99_secrets.py inspects its log."""
    global _SHARED
    if _SHARED is None:
        _SHARED = start_stack(workers=2)
    return _SHARED


def secrets_of(stack):
    """Strings that must never appear in the service log of `stack`."""
    out = {"JWT secret": stack.secret}
    pg = getattr(stack, "pg", None)
    if pg is not None:
        for role, pw in pg.passwords.items():
            out["password of " + role] = pw
    url = stack.service_env.get("DATABASE_URL", "")
    parsed = urllib.parse.urlsplit(url)
    if parsed.password:
        out["DATABASE_URL password"] = urllib.parse.unquote(parsed.password)
        out["DATABASE_URL"] = url
    return {k: v for k, v in out.items() if v}


# ---------------------------------------------------------------- assertions

class E2ECase(unittest.TestCase):
    """Base class: self.stack is the stack under test (the shared one by default)."""

    maxDiff = None
    stack = None

    @classmethod
    def setUpClass(cls):
        if cls.stack is None:
            cls.stack = shared()

    def assert_log_clean(self, stack=None):
        """The service log holds no token sent so far (nor its signature), no JWT secret,
        no database password."""
        stack = stack or self.stack
        log = stack.service_log()
        for name, value in secrets_of(stack).items():
            self.assertNotIn(value, log, "%s found in the service log" % name)
        leaked = [t for t in USED_TOKENS if t in log]
        self.assertEqual(leaked, [], "tokens found in the service log")
        sigs = [t.rsplit(".", 1)[-1] for t in USED_TOKENS if t.count(".") == 2]
        leaked = [s for s in sigs if len(s) >= 16 and s in log]
        self.assertEqual(leaked, [], "token signatures found in the service log")

    # requests

    def req(self, method, tgt, headers=None, body=None):
        return request(self.stack, method, tgt, headers, body)

    def get(self, tgt, headers=None):
        return request(self.stack, "GET", tgt, headers)

    def status_of(self, course_id, user=OWNER, tok=None, headers=None):
        """GET generation.getStatus for course_id as user (or with token tok)."""
        h = dict(headers or {})
        if tok is None and user is not None:
            tok = token(self.stack, user)
        if tok is not None:
            h.update(bearer(tok))
        return self.get(target(self.stack, input={"courseId": course_id}), h)

    # envelopes

    def ok_data(self, resp):
        """Assert a 200 single success envelope; return data."""
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertEqual(list(body.keys()), ["result"], body)
        self.assertEqual(list(body["result"].keys()), ["data"], body)
        data = body["result"]["data"]
        self.assert_data_shape(data)
        return data

    def assert_data_shape(self, data):
        """The output schema of the contract (section 5), checked on every success."""
        self.assertIsInstance(data, dict)
        self.assertEqual(sorted(data.keys()), sorted(DATA_KEYS), data)
        self.assertIn(data["status"], ["idle", "queued", "generating", "completed",
                                       "failed", "cancelled"])
        self.assertIn(data["phase"], [None, "metadata", "sections", "validation", "saving"])
        self.assertIs(type(data["progress"]), int, data)
        self.assertTrue(0 <= data["progress"] <= 100, data)
        self.assertIsInstance(data["message"], str)
        eta = data["estimatedRemainingSeconds"]
        self.assertTrue(eta is None or (type(eta) is int and eta >= 0), data)
        for k in ("startedAt", "lastUpdatedAt"):
            self.assertRegex(data[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        md = data["metadata"]
        if md is not None:
            self.assertIsInstance(md, dict)
            for k, v in md.items():
                self.assertIsNotNone(v, "metadata.%s is null (optional means absent)" % k)
            for k in ("batchesCompleted", "totalBatches", "totalLessons", "totalSections",
                      "duration"):
                if k in md:
                    self.assertIs(type(md[k]), int, (k, md))
            if "qualityScore" in md:
                self.assertIn(type(md["qualityScore"]), (int, float))
                self.assertTrue(0 <= md["qualityScore"] <= 1, md)
            if "cost" in md:
                self.assertIn(type(md["cost"]), (int, float))
            for k in ("currentModel", "error"):
                if k in md:
                    self.assertIsInstance(md[k], str)
            if "retryable" in md:
                self.assertIsInstance(md["retryable"], bool)

    def assert_error_obj(self, err, status, key, message=None, path=PROC):
        """err is the value of "error". path: a string, None (not checked) or ABSENT."""
        self.assertIsInstance(err, dict, err)
        self.assertIsInstance(err.get("message"), str, err)
        if message is not None:
            self.assertEqual(err["message"], message, err)
        self.assertEqual(err.get("code"), CODES[key][0], err)
        data = err.get("data")
        self.assertIsInstance(data, dict, err)
        self.assertEqual(data.get("code"), key, err)
        self.assertEqual(data.get("httpStatus"), status, err)
        self.assertNotIn("stack", data, err)
        if path is ABSENT:
            self.assertNotIn("path", data, err)
        elif path is not None:
            self.assertEqual(data.get("path"), path, err)

    def assert_error(self, resp, status, key, message=None, path=PROC):
        """Assert a single (non-batch) tRPC error response; return the error object."""
        self.assertEqual(resp.status, status, resp)
        body = resp.json()
        self.assertIsInstance(body, dict, body)
        self.assertEqual(list(body.keys()), ["error"], body)
        self.assert_error_obj(body["error"], status, key, message, path)
        return body["error"]

    def assert_trpc_shaped(self, resp, status):
        """Any tRPC-client-parsable error (also for nginx-made pages): JSON object with
        error.message (string), error.code (number), error.data.httpStatus == status."""
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(media_type(resp), "application/json", resp)
        body = resp.json()
        self.assertIsInstance(body, dict, resp)
        self.assertIn("error", body, resp)
        err = body["error"]
        self.assertIsInstance(err.get("message"), str, resp)
        self.assertIs(type(err.get("code")), int, resp)
        self.assertIsInstance(err.get("data"), dict, resp)
        self.assertIsInstance(err["data"].get("code"), str, resp)
        self.assertEqual(err["data"].get("httpStatus"), status, resp)
        return err

    def assert_std_headers(self, resp):
        self.assertEqual(media_type(resp), "application/json", resp)
        # A status's message follows Accept-Language (an error's does not).
        vary = "trpc-accept, accept"
        if b'"result":' in resp.body:
            vary += ", Accept-Language"
        self.assertEqual(resp.headers.get("vary"), vary, resp)
        self.assertEqual(resp.headers.get("cache-control"), "no-store", resp)
        self.assertEqual(resp.headers.get("x-content-type-options"), "nosniff", resp)

    def issues(self, err):
        """The zod issue list carried (JSON.stringify(issues, null, 2)) in a message."""
        try:
            return strict_loads(err["message"])
        except ValueError:
            self.fail("message is not a JSON zod issue list: %r" % err["message"])


class _Absent:
    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()


def media_type(resp):
    return resp.headers.get("content-type", "").split(";")[0].strip().lower()


class OwnStackCase(E2ECase):
    """A test class with a stack of its own (stack_kwargs), stopped after the class.
    Subclasses put fixtures in fixtures(stack) and should end with a test that calls
    assert_log_clean() (named test_zz_* so it runs last)."""

    stack_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls.stack = start_stack(**cls.stack_kwargs)
        cls.addClassCleanup(stop_stack, cls.stack)
        cls.fixtures(cls.stack)

    @classmethod
    def fixtures(cls, stack):
        pass


# The contract's example rows (section 5), as generation_metadata; shared with
# tests/clients/driver.py.
GEN_META = {"last_phase": "sections", "batch_count": 4, "total_batches": 8,
            "model_used": {"metadata": "qwen/qwen3-max", "sections": "openai/gpt-oss-20b"},
            "quality_scores": {"overall": 0.87},
            "duration_ms": {"metadata": 12000}}
DONE_META = {"total_lessons": 24, "total_sections": 8, "cost_usd": 0.28,
             "duration_ms": {"metadata": 15000, "sections": 110000, "validation": 20000,
                             "saving": 5000, "total": 150000},
             "quality_scores": {"overall": 0.88}, "batch_count": 8, "total_batches": 8}
FAIL_META = {"last_phase": "sections", "last_progress": 35, "batch_count": 3,
             "error_message": "Token budget exceeded, Gemini fallback failed",
             "retryable": True}


def cache_notices(stack):
    """Change notifications the service's workers have received so far (/metrics; the
    sum over the pool when it has a master)."""
    resp = request(stack, "GET", "/metrics")
    for line in resp.body.decode().splitlines():
        if line.startswith("coursegen_cache_notifications_total "):
            return int(float(line.split()[-1]))
    raise AssertionError("no coursegen_cache_notifications_total in /metrics")


def write_and_wait(stack, sql, per_listener=1):
    """Run sql, then wait until every worker connected to the database has received its
    change notification(s) (sql/006-notify.sql). Delivery is asynchronous, at the pace
    the machine schedules the listening backends; what follows is the next poll."""
    listeners = int(stack.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = "
                               "'coursegen_status' AND backend_type = 'client backend';")
                    .strip())
    before = cache_notices(stack)
    stack.psql(sql)
    deadline = time.monotonic() + 30
    while cache_notices(stack) < before + listeners * per_listener:
        if time.monotonic() > deadline:
            raise AssertionError("the change notifications never arrived")
        time.sleep(0.01)
