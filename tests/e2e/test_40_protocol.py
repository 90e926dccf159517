"""tRPC v11 wire protocol: batches, POST, JSONL streaming, methods, input validation,
unknown procedures and the headers every answer carries."""

import unittest

from e2e.common import (E2ECase, ABSENT, MISSING_COURSE, OUTSIDER, OWNER, PROC, bearer,
                        batch_input, cid, dumps, enc, insert_courses, media_type, shared,
                        strict_loads, target, token, MSG_FORBIDDEN, MSG_NOT_FOUND,
                        MSG_QUEUED, MSG_UNAUTH)

OK1 = cid("protocol/ok-1")
OK2 = cid("protocol/ok-2")
BOOM = cid("protocol/unknown-state")
THEIRS = cid("protocol/theirs")  # owned by OUTSIDER, no organization

ISSUE_UUID = [{"validation": "uuid", "code": "invalid_string", "message": "Invalid uuid",
               "path": ["courseId"]}]
ISSUE_MISSING_ID = [{"code": "invalid_type", "expected": "string", "received": "undefined",
                     "path": ["courseId"], "message": "Required"}]
ISSUE_ID_NUMBER = [{"code": "invalid_type", "expected": "string", "received": "number",
                    "path": ["courseId"], "message": "Expected string, received number"}]
ISSUE_NO_INPUT = [{"code": "invalid_type", "expected": "object", "received": "undefined",
                   "path": [], "message": "Required"}]


def issue_not_object(received):
    return [{"code": "invalid_type", "expected": "object", "received": received,
             "path": [], "message": "Expected object, received %s" % received}]


BATCH_NOT_OBJECT = '"input" needs to be an object when doing a batch call'
STREAM_NOT_BATCHED = "Streaming requests must be batched (you can do a batch of 1)"


def setUpModule():
    st = shared()
    insert_courses(st, [dict(id=OK1, gen_status="queued"),
                        dict(id=OK2, gen_status="idle"),
                        dict(id=THEIRS, gen_status="queued", owner=OUTSIDER, org=None),
                        dict(id=BOOM, gen_status="exploded")])


class Base(E2ECase):
    def setUp(self):
        self.auth = bearer(token(self.stack, OWNER))

    def batch_get(self, procs, inputs, headers=None, raw_input=None):
        h = dict(self.auth)
        h.update(headers or {})
        if raw_input is not None:
            return self.get(target(self.stack, procs, batch=True, raw_input=raw_input), h)
        return self.get(target(self.stack, procs, input=inputs, batch=True), h)


class Batch(Base):

    def test_batch_all_ok_is_200_array_in_order(self):
        resp = self.batch_get([PROC, PROC], batch_input({"courseId": OK1}, {"courseId": OK2}))
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertIsInstance(body, list)
        self.assertEqual(len(body), 2)
        self.assertEqual([b["result"]["data"]["courseId"] for b in body], [OK1, OK2])
        self.assertEqual([b["result"]["data"]["status"] for b in body], ["queued", "idle"])
        for item in body:
            self.assertEqual(list(item.keys()), ["result"])
            self.assert_data_shape(item["result"]["data"])

    def test_batch_of_one(self):
        resp = self.batch_get([PROC], batch_input({"courseId": OK1}))
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertEqual(len(body), 1)
        self.assertEqual(body[0]["result"]["data"]["message"], MSG_QUEUED)

    def test_batch_mixed_is_207_in_order(self):
        resp = self.batch_get([PROC, PROC, PROC],
                              batch_input({"courseId": OK1}, {"courseId": THEIRS},
                                          {"courseId": MISSING_COURSE}))
        self.assertEqual(resp.status, 207, resp)
        body = resp.json()
        self.assertEqual(len(body), 3)
        self.assertEqual(body[0]["result"]["data"]["courseId"], OK1)
        self.assert_error_obj(body[1]["error"], 403, "FORBIDDEN", MSG_FORBIDDEN, PROC)
        self.assert_error_obj(body[2]["error"], 404, "NOT_FOUND", MSG_NOT_FOUND, PROC)

    def test_batch_all_same_error_takes_that_status(self):
        resp = self.batch_get([PROC, PROC],
                              batch_input({"courseId": MISSING_COURSE},
                                          {"courseId": cid("protocol/never-inserted")}))
        self.assertEqual(resp.status, 404, resp)
        body = resp.json()
        self.assertEqual(len(body), 2)
        for item in body:
            self.assert_error_obj(item["error"], 404, "NOT_FOUND", MSG_NOT_FOUND, PROC)

    def test_batch_two_different_errors_is_207(self):
        resp = self.batch_get([PROC, PROC],
                              batch_input({"courseId": THEIRS}, {"courseId": "nope"}))
        self.assertEqual(resp.status, 207, resp)
        body = resp.json()
        self.assert_error_obj(body[0]["error"], 403, "FORBIDDEN", MSG_FORBIDDEN, PROC)
        self.assert_error_obj(body[1]["error"], 400, "BAD_REQUEST", None, PROC)
        self.assertEqual(self.issues(body[1]["error"]), ISSUE_UUID)

    def test_batch_without_token_every_call_401(self):
        resp = self.get(target(self.stack, [PROC, PROC], batch=True,
                               input=batch_input({"courseId": OK1}, {"courseId": OK2})))
        self.assertEqual(resp.status, 401, resp)
        body = resp.json()
        self.assertEqual(len(body), 2)
        for item in body:
            self.assert_error_obj(item["error"], 401, "UNAUTHORIZED", MSG_UNAUTH, PROC)

    def test_batch_missing_index_is_missing_input(self):
        # {"1": ...} only: call 0 has undefined input (as httpBatchLink sends it)
        resp = self.batch_get([PROC, PROC], {"1": {"courseId": OK1}})
        self.assertEqual(resp.status, 207, resp)
        body = resp.json()
        err = body[0]["error"]
        self.assert_error_obj(err, 400, "BAD_REQUEST", None, PROC)
        self.assertEqual(self.issues(err), ISSUE_NO_INPUT)
        self.assertEqual(body[1]["result"]["data"]["courseId"], OK1)

    def test_batch_with_unknown_procedure_per_call(self):
        resp = self.batch_get([PROC, "nope"], batch_input({"courseId": OK1}, {"x": 1}))
        self.assertEqual(resp.status, 207, resp)
        body = resp.json()
        self.assertEqual(body[0]["result"]["data"]["courseId"], OK1)
        self.assert_error_obj(body[1]["error"], 404, "NOT_FOUND",
                              'No procedure found on path "nope"', "nope")

    def test_batch_input_not_an_object(self):
        for raw in ("[1,2]", '"x"', "5", "null"):
            with self.subTest(input=raw):
                resp = self.batch_get([PROC, PROC], None, raw_input=enc(raw))
                self.assertEqual(resp.status, 400, resp)
                body = resp.json()
                errs = [i["error"] for i in body] if isinstance(body, list) else [body["error"]]
                if isinstance(body, list):
                    self.assertEqual(len(body), 2)
                for err in errs:
                    self.assert_error_obj(err, 400, "BAD_REQUEST", BATCH_NOT_OBJECT, None)

    def test_batch_over_max_is_400_single_object(self):
        n = 33  # MAX_BATCH default 32
        resp = self.batch_get([PROC] * n, batch_input(*[{"courseId": OK1}] * n))
        err = self.assert_error(resp, 400, "BAD_REQUEST", "Batch call exceeds maximum size",
                                ABSENT)
        self.assertIsInstance(err, dict)

    def test_batch_at_max_is_served(self):
        n = 32
        resp = self.batch_get([PROC] * n, batch_input(*[{"courseId": OK1}] * n))
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertEqual(len(body), n)
        self.assertTrue(all(b["result"]["data"]["courseId"] == OK1 for b in body))


class Post(Base):

    def post(self, tgt, body, ctype="application/json", extra=None):
        h = dict(self.auth)
        if ctype is not None:
            h["Content-Type"] = ctype
        h.update(extra or {})
        return self.req("POST", tgt, h, body)

    def test_post_single(self):
        for ctype in ("application/json", "application/json; charset=utf-8"):
            with self.subTest(content_type=ctype):
                resp = self.post(target(self.stack), dumps({"courseId": OK1}), ctype)
                d = self.ok_data(resp)
                self.assertEqual(d["courseId"], OK1)
                self.assertEqual(d["status"], "queued")

    def test_post_batch(self):
        for ctype in ("application/json", "application/json; charset=utf-8"):
            with self.subTest(content_type=ctype):
                resp = self.post(target(self.stack, [PROC, PROC], batch=True),
                                 dumps(batch_input({"courseId": OK1},
                                                   {"courseId": MISSING_COURSE})), ctype)
                self.assertEqual(resp.status, 207, resp)
                body = resp.json()
                self.assertEqual(body[0]["result"]["data"]["courseId"], OK1)
                self.assert_error_obj(body[1]["error"], 404, "NOT_FOUND", MSG_NOT_FOUND, PROC)

    def test_post_text_plain_is_415(self):
        resp = self.post(target(self.stack), dumps({"courseId": OK1}), "text/plain")
        self.assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE",
                          'Unsupported content-type "text/plain', None)

    def test_post_form_is_415(self):
        resp = self.post(target(self.stack), "courseId=" + OK1,
                         "application/x-www-form-urlencoded")
        err = self.assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE", None, None)
        self.assertTrue(err["message"].startswith('Unsupported content-type "'), err)

    def test_post_without_content_type_is_415(self):
        resp = self.post(target(self.stack), dumps({"courseId": OK1}), None)
        self.assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE", "Missing content-type header",
                          None)

    def test_post_json_prefix_lookalike_is_415(self):
        # 11.22+: exact media type; application/jsonl or application/json-patch are not JSON
        resp = self.post(target(self.stack), dumps({"courseId": OK1}), "application/jsonx")
        self.assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE", None, None)

    def test_post_empty_body_is_missing_input(self):
        resp = self.post(target(self.stack), b"")
        err = self.assert_error(resp, 400, "BAD_REQUEST", None, PROC)
        self.assertEqual(self.issues(err), ISSUE_NO_INPUT)

    def test_post_bad_json_is_400(self):
        resp = self.post(target(self.stack), '{"courseId": ')
        err = self.assert_error(resp, 400, "BAD_REQUEST", None, None)
        self.assertTrue(err["message"].startswith("Invalid JSON input"), err)

    def test_post_bad_uuid(self):
        resp = self.post(target(self.stack), dumps({"courseId": "123"}))
        err = self.assert_error(resp, 400, "BAD_REQUEST", None, PROC)
        self.assertEqual(self.issues(err), ISSUE_UUID)


class Jsonl(Base):

    def check_jsonl(self, headers):
        resp = self.batch_get([PROC, PROC, PROC],
                              batch_input({"courseId": OK1}, {"courseId": MISSING_COURSE},
                                          {"courseId": THEIRS}), headers)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(media_type(resp), "application/json")
        self.assertTrue(resp.body.endswith(b"\n"), resp)
        self.assertEqual(resp.body.count(b"\n"), 1, resp)
        body = strict_loads(resp.body[:-1])
        self.assertEqual(list(body.keys()), ["0", "1", "2"])
        for k in body:
            self.assertIsInstance(body[k], list)
            self.assertEqual(len(body[k]), 1, body)
            self.assertIsInstance(body[k][0], list)
            self.assertEqual(len(body[k][0]), 1, body)
        d = body["0"][0][0]["result"]["data"]
        self.assertEqual(list(body["0"][0][0].keys()), ["result"])
        self.assert_data_shape(d)
        self.assertEqual(d["courseId"], OK1)
        self.assert_error_obj(body["1"][0][0]["error"], 404, "NOT_FOUND", MSG_NOT_FOUND, PROC)
        self.assert_error_obj(body["2"][0][0]["error"], 403, "FORBIDDEN", MSG_FORBIDDEN, PROC)

    def test_jsonl_trpc_accept(self):
        self.check_jsonl({"trpc-accept": "application/jsonl"})

    def test_jsonl_accept(self):
        self.check_jsonl({"Accept": "application/jsonl"})

    def test_jsonl_all_unauthorized_still_200(self):
        resp = self.get(target(self.stack, [PROC, PROC], batch=True,
                               input=batch_input({"courseId": OK1}, {"courseId": OK2})),
                        {"trpc-accept": "application/jsonl"})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body.count(b"\n"), 1, resp)
        body = strict_loads(resp.body)
        for k in ("0", "1"):
            self.assert_error_obj(body[k][0][0]["error"], 401, "UNAUTHORIZED", MSG_UNAUTH, PROC)

    def test_jsonl_post_batch(self):
        h = dict(self.auth)
        h.update({"Content-Type": "application/json", "trpc-accept": "application/jsonl"})
        resp = self.req("POST", target(self.stack, [PROC], batch=True), h,
                        dumps(batch_input({"courseId": OK1})))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body.count(b"\n"), 1)
        body = strict_loads(resp.body)
        self.assertEqual(body["0"][0][0]["result"]["data"]["courseId"], OK1)

    def test_jsonl_without_batch_is_400(self):
        for hdr in ({"trpc-accept": "application/jsonl"}, {"Accept": "application/jsonl"}):
            with self.subTest(header=hdr):
                h = dict(self.auth)
                h.update(hdr)
                resp = self.get(target(self.stack, input={"courseId": OK1}), h)
                self.assert_error(resp, 400, "BAD_REQUEST", STREAM_NOT_BATCHED, None)

    def test_refused_request_gets_one_error(self):
        """A JSONL batch refused as a whole gets one error object with its status (as
        tRPC v11 answers), not one per procedure name in the path: the answer does not
        grow with the path, authenticated or not."""
        sizes = {}
        for n in (33, 300):  # MAX_BATCH is 32
            for auth in (True, False):
                with self.subTest(names=n, auth=auth):
                    h = {"trpc-accept": "application/jsonl"}
                    if auth:
                        h.update(self.auth)
                    resp = self.get(target(self.stack, [PROC] * n, batch=True,
                                           input={}), h)
                    self.assert_error(resp, 400, "BAD_REQUEST",
                                      "Batch call exceeds maximum size", None)
                    sizes[n, auth] = len(resp.body)
        self.assertEqual(sizes[33, True], sizes[300, True])
        self.assertEqual(sizes[33, False], sizes[300, False])
        self.assertLess(sizes[300, False], 200)
        # refused for its content type: one 415, whatever the number of calls
        h = dict(self.auth)
        h.update({"Content-Type": "text/plain", "trpc-accept": "application/jsonl"})
        resp = self.req("POST", target(self.stack, [PROC] * 32, batch=True), h, "{}")
        self.assertEqual(resp.status, 415, resp)
        self.assertEqual(resp.json()["error"]["data"]["code"], "UNSUPPORTED_MEDIA_TYPE")

    def test_plain_accept_json_is_not_streamed(self):
        h = dict(self.auth)
        h["Accept"] = "application/json"
        resp = self.get(target(self.stack, [PROC], batch=True,
                               input=batch_input({"courseId": OK1})), h)
        self.assertEqual(resp.status, 200, resp)
        self.assertIsInstance(resp.json(), list)


class Methods(Base):

    def test_head_is_204_empty(self):
        for h in ({}, self.auth):
            with self.subTest(auth=bool(h)):
                resp = self.req("HEAD", target(self.stack, input={"courseId": OK1}), h)
                self.assertEqual(resp.status, 204, resp)
                self.assertEqual(resp.body, b"")

    def test_other_methods_are_405_with_allow(self):
        for method in ("PUT", "DELETE", "OPTIONS", "PATCH"):
            with self.subTest(method=method):
                h = dict(self.auth)
                body = None
                if method in ("PUT", "PATCH"):
                    h["Content-Type"] = "application/json"
                    body = dumps({"courseId": OK1})
                resp = self.req(method, target(self.stack, input={"courseId": OK1}), h, body)
                self.assert_error(resp, 405, "METHOD_NOT_SUPPORTED",
                                  'Unsupported %s-request to query procedure at path '
                                  '"generation.getStatus"' % method, None)
                self.assertEqual(resp.headers.get("allow"), "GET, POST", resp)

    def test_options_without_token_is_405(self):
        resp = self.req("OPTIONS", target(self.stack))
        self.assertEqual(resp.status, 405, resp)
        self.assertEqual(resp.headers.get("allow"), "GET, POST")


class Procedures(Base):

    def test_unknown_procedure_404(self):
        resp = self.get(target(self.stack, "nope", input={"courseId": OK1}), self.auth)
        self.assert_error(resp, 404, "NOT_FOUND", 'No procedure found on path "nope"', "nope")

    def test_router_prefix_and_near_misses_404(self):
        for proc in ("generation", "generation.getstatus", "generation.getStatus.x",
                     "generation.initiate", "Generation.getStatus"):
            with self.subTest(proc=proc):
                resp = self.get(target(self.stack, proc, input={"courseId": OK1}), self.auth)
                self.assert_error(resp, 404, "NOT_FOUND",
                                  'No procedure found on path "%s"' % proc, proc)

    def test_procedure_name_percent_encoded(self):
        # paths are decodeURIComponent-ed, as the v11 server does
        resp = self.get(self.stack.base + "/generation%2EgetStatus?input=" +
                        enc(dumps({"courseId": OK1})), self.auth)
        d = self.ok_data(resp)
        self.assertEqual(d["courseId"], OK1)

    def test_outside_trpc_base_is_json_404(self):
        resp = self.get("/not-trpc/" + PROC, self.auth)
        self.assert_trpc_shaped(resp, 404)


class Input(Base):

    def single(self, raw_input=None, input=None):
        if raw_input is not None:
            return self.get(target(self.stack, raw_input=raw_input), self.auth)
        return self.get(target(self.stack, input=input), self.auth)

    def test_input_validation_table(self):
        cases = [
            ("bad uuid", {"courseId": "123e4567-e89b-12d3-a456-42661417400"}, ISSUE_UUID),
            ("uuid with junk", {"courseId": OK1 + "x"}, ISSUE_UUID),
            ("empty string", {"courseId": ""}, ISSUE_UUID),
            ("courseId missing", {}, ISSUE_MISSING_ID),
            ("courseId null", {"courseId": None},
             [{"code": "invalid_type", "expected": "string", "received": "null",
               "path": ["courseId"], "message": "Expected string, received null"}]),
            ("courseId number", {"courseId": 123}, ISSUE_ID_NUMBER),
            ("input array", [OK1], issue_not_object("array")),
            ("input string", OK1, issue_not_object("string")),
            ("input null", None, issue_not_object("null")),
            ("input number", 5, issue_not_object("number")),
        ]
        for name, value, issues in cases:
            with self.subTest(case=name):
                resp = self.get(target(self.stack, input=value), self.auth)
                err = self.assert_error(resp, 400, "BAD_REQUEST", None, PROC)
                self.assertEqual(self.issues(err), issues)
                # JSON.stringify(issues, null, 2): multi-line, two-space indent
                self.assertTrue(err["message"].startswith("[\n  {\n    \""), err["message"])

    def test_extra_keys_are_stripped_not_rejected(self):
        d = self.ok_data(self.single(input={"courseId": OK1, "extra": 1}))
        self.assertEqual(d["courseId"], OK1)

    def test_missing_input(self):
        for tgt in (target(self.stack), target(self.stack, raw_input="")):
            with self.subTest(target=tgt):
                err = self.assert_error(self.get(tgt, self.auth), 400, "BAD_REQUEST", None, PROC)
                self.assertEqual(self.issues(err), ISSUE_NO_INPUT)

    def test_input_not_json(self):
        for raw in ("%7Bnot", "%7B%22courseId%22%3A", "undefined", "%27x%27"):
            with self.subTest(raw=raw):
                err = self.assert_error(self.single(raw_input=raw), 400, "BAD_REQUEST", None,
                                        None)
                self.assertTrue(err["message"].startswith("Invalid JSON input"), err)

    def test_plus_in_query_is_space(self):
        # URLSearchParams semantics: '+' is a space, so this JSON has spaces, still valid
        raw = "{+%22courseId%22+:+%22" + OK1 + "%22+}"
        d = self.ok_data(self.single(raw_input=raw))
        self.assertEqual(d["courseId"], OK1)

    def test_auth_before_validation(self):
        bad_tok = {"Authorization": "Bearer nope"}
        for name, tgt in (("bad uuid", target(self.stack, input={"courseId": "x"})),
                          ("missing input", target(self.stack)),
                          ("input not json", target(self.stack, raw_input="%7B"))):
            for hname, h in (("no token", {}), ("bad token", bad_tok)):
                with self.subTest(case=name, auth=hname):
                    self.assert_error(self.get(tgt, h), 401, "UNAUTHORIZED", MSG_UNAUTH, None)
        # tRPC reads (and parses) inputs lazily, inside the procedure, after the auth
        # middleware: a batch whose input is not an object is 401 per call too
        tgt = target(self.stack, [PROC, PROC], batch=True, raw_input=enc("[1,2]"))
        for hname, h in (("no token", {}), ("bad token", bad_tok)):
            with self.subTest(case="batch input not an object", auth=hname):
                resp = self.get(tgt, h)
                self.assertEqual(resp.status, 401, resp)
                body = resp.json()
                self.assertIsInstance(body, list, body)
                for item in body:
                    self.assert_error_obj(item["error"], 401, "UNAUTHORIZED", MSG_UNAUTH, PROC)


class Headers(Base):

    def test_standard_headers_on_every_service_response(self):
        auth = self.auth
        js = dict(auth, **{"Content-Type": "application/json"})
        cases = [
            ("200", "GET", target(self.stack, input={"courseId": OK1}), auth, None, 200),
            ("200 batch", "GET", target(self.stack, [PROC], batch=True,
                                        input=batch_input({"courseId": OK1})), auth, None, 200),
            ("207", "GET", target(self.stack, [PROC, PROC], batch=True,
                                  input=batch_input({"courseId": OK1},
                                                    {"courseId": MISSING_COURSE})),
             auth, None, 207),
            ("jsonl", "GET", target(self.stack, [PROC], batch=True,
                                    input=batch_input({"courseId": OK1})),
             dict(auth, **{"trpc-accept": "application/jsonl"}), None, 200),
            ("400", "GET", target(self.stack, input={"courseId": "x"}), auth, None, 400),
            ("401", "GET", target(self.stack, input={"courseId": OK1}), {}, None, 401),
            ("403", "GET", target(self.stack, input={"courseId": THEIRS}), auth, None, 403),
            ("404", "GET", target(self.stack, input={"courseId": MISSING_COURSE}), auth,
             None, 404),
            ("404 procedure", "GET", target(self.stack, "nope"), auth, None, 404),
            ("405", "PUT", target(self.stack), js, "{}", 405),
            ("415", "POST", target(self.stack), dict(auth, **{"Content-Type": "text/plain"}),
             "{}", 415),
            ("500", "GET", target(self.stack, input={"courseId": BOOM}), auth, None, 500),
            ("POST 200", "POST", target(self.stack), js, dumps({"courseId": OK1}), 200),
        ]
        for name, method, tgt, h, body, status in cases:
            with self.subTest(case=name):
                resp = self.req(method, tgt, h, body)
                self.assertEqual(resp.status, status, resp)
                self.assert_std_headers(resp)
                self.assertNotIn("set-cookie", resp.headers)

    def test_no_server_version_leak(self):
        resp = self.get(target(self.stack, input={"courseId": OK1}), self.auth)
        self.assertNotRegex(resp.headers.get("server", ""), r"\d")
        self.assertNotIn("x-powered-by", resp.headers)


if __name__ == "__main__":
    unittest.main()
