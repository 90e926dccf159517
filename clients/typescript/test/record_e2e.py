"""record_e2e.py: run modules of the end-to-end suite (tests/e2e) in this process and
record every HTTP answer they get from the service, for the package's schema test.

    from record_e2e import record
    ok, result, answers = record(["test_10_examples", ...])

Each answer: {"module", "method", "target", "status", "contentType", "transformer",
"body"} (body as text). The suite's own HTTP helpers (e2e.common.request and
localstack.Stack.request) are wrapped before the modules are loaded; the tests run
unchanged, against the stacks they start themselves. Raw-socket requests
(Stack.raw) are not recorded.
"""

import io
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def _tests_dir():
    """tests/ of the sources: $COURSEGEN_TESTS_DIR, else found from this file."""
    d = os.environ.get("COURSEGEN_TESTS_DIR") or os.path.join(HERE, "..", "..", "..", "tests")
    return os.path.abspath(d)


def record(modules, stream=None):
    tests = _tests_dir()
    for d in (tests, os.path.join(os.path.dirname(tests), "scripts")):
        if d not in sys.path:
            sys.path.insert(0, d)
    import localstack
    from e2e import common

    answers = []
    current = {"module": None}

    def transformer_of(stack):
        env = getattr(stack, "extra_env", None) or {}
        return env.get("TRPC_TRANSFORMER") or "none"

    def keep(stack, method, target, status, headers, body):
        ctype = headers.get("content-type", "")
        answers.append({
            "module": current["module"], "method": method, "target": target,
            "status": status, "contentType": ctype, "transformer": transformer_of(stack),
            "body": body.decode("utf-8", errors="replace"),
        })

    orig_request = common.request

    def request(stack, method, target, headers=None, body=None, timeout=30):
        r = orig_request(stack, method, target, headers, body, timeout)
        keep(stack, method, target, r.status, r.headers, r.body)
        return r

    common.request = request

    orig_stack_request = localstack.Stack.request

    def stack_request(self, method, path, body=None, headers=None, timeout=30):
        st, h, data = orig_stack_request(self, method, path, body, headers, timeout)
        keep(self, method, path, st, h, data)
        return st, h, data

    localstack.Stack.request = stack_request

    class Result(unittest.TextTestResult):
        def startTest(self, test):
            current["module"] = type(test).__module__.rsplit(".", 1)[-1]
            super().startTest(test)

    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for m in modules:
        suite.addTests(loader.loadTestsFromName("e2e." + m))
    out = stream or io.StringIO()
    runner = unittest.TextTestRunner(stream=out, verbosity=1, resultclass=Result)
    try:
        result = runner.run(suite)
    finally:
        common.request = orig_request
        localstack.Stack.request = orig_stack_request
        if common._SHARED is not None:
            common._SHARED.close()
            common._SHARED = None
    ok = (result.wasSuccessful() and result.testsRun > 0 and not result.skipped
          and not result.expectedFailures and not result.unexpectedSuccesses)
    return ok, result, answers


def record_superjson():
    """The same answers from a stack with TRPC_TRANSFORMER=superjson (the e2e suite
    has none): a course in every status and phase, asked as httpLink, httpBatchLink
    and httpBatchStreamLink ask, and the errors (401, 403, 404, 400). Returns
    answers as record() does (module "superjson", transformer "superjson")."""
    tests = _tests_dir()
    for d in (tests, os.path.join(os.path.dirname(tests), "scripts")):
        if d not in sys.path:
            sys.path.insert(0, d)
    import json
    from e2e import common
    from e2e.common import (DONE_META, FAIL_META, GEN_META, OTHER_ORG, OWNER, PROC,
                            Raw, cid, enc, insert_courses, start_stack, token)

    st = start_stack(workers=1, env={"TRPC_TRANSFORMER": "superjson"})
    try:
        rows = {
            "idle": dict(gen_status="idle"),
            "queued": dict(gen_status="queued"),
            "cancelled": dict(gen_status="cancelled"),
            "metadata": dict(gen_status="generating", meta={"last_phase": "metadata"}),
            "sections": dict(gen_status="generating", meta=GEN_META,
                             created=Raw("now() - interval '75 seconds'"), updated=Raw("now()")),
            "validation": dict(gen_status="generating", meta={"last_phase": "validation"}),
            "saving": dict(gen_status="generating", meta={"last_phase": "saving"}),
            "completed": dict(gen_status="completed", meta=DONE_META),
            "failed": dict(gen_status="failed", meta=FAIL_META),
            "foreign": dict(gen_status="queued", owner=common.OUTSIDER, org=OTHER_ORG),
        }
        ids = {k: cid("superjson " + k) for k in rows}
        insert_courses(st, [dict(id=ids[k], **v) for k, v in rows.items()])
        auth = {"Authorization": "Bearer " + token(st, OWNER)}
        expired = {"Authorization": "Bearer " + token(st, OWNER, ttl=-3600)}
        out = []

        def ask(target, headers, method="GET", body=None):
            r = common.request(st, method, target, headers, body)
            out.append({"module": "superjson", "method": method, "target": target,
                        "status": r.status, "contentType": r.headers.get("content-type", ""),
                        "transformer": "superjson",
                        "body": r.body.decode("utf-8", errors="replace")})

        def sj(courseId):
            return {"json": {"courseId": courseId}}

        base = st.base + "/" + PROC
        for k, c in list(ids.items()) + [("missing", cid("superjson missing")),
                                         ("bad", "not-a-uuid")]:
            ask(base + "?input=" + enc(json.dumps(sj(c))), auth)
        batch = {str(i): sj(c) for i, c in enumerate(ids.values())}
        procs = ",".join([PROC] * len(batch))
        ask(st.base + "/" + procs + "?batch=1&input=" + enc(json.dumps(batch)), auth)
        ask(st.base + "/" + procs + "?batch=1&input=" + enc(json.dumps(batch)),
            dict(auth, **{"trpc-accept": "application/jsonl"}))
        ask(base, dict(auth, **{"Content-Type": "application/json"}), "POST",
            json.dumps(sj(ids["completed"])))
        ask(base + "?input=" + enc(json.dumps(sj(ids["sections"]))), expired)
        ask(base + "?input=" + enc(json.dumps(sj(ids["sections"]))), {})
        return out
    finally:
        st.close()
