"""What the data field says for each stored state: one test per decision of doc/decisions.md (D1-D12),
each driven by a table of rows inserted with fixed ids and read back over HTTP."""

import math
import time
import unittest

from e2e.common import (E2ECase, PROC, Raw, cid, insert_courses, shared,
                        MSG_IDLE, MSG_QUEUED, MSG_META, MSG_VALID, MSG_SAVING, MSG_DONE,
                        MSG_FAILED, MSG_CANCELLED, MSG_INTERNAL, msg_sections)


def gen(phase, progress, message, b, t, **md):
    m = {"batchesCompleted": b, "totalBatches": t}
    m.update(md)
    return dict(status="generating", phase=phase, progress=progress, message=message,
                metadata=m)


def secs(b, t, pct, progress, **md):
    return gen("sections", progress, msg_sections(pct), b, t, **md)


def meta0(b=0, t=8, **md):
    return gen("metadata", 0, MSG_META, b, t, **md)


def done(md):
    return dict(status="completed", phase="saving", progress=100, message=MSG_DONE,
                metadata=md)


def failed(phase, progress, md):
    return dict(status="failed", phase=phase, progress=progress, message=MSG_FAILED,
                metadata=md)


S = "sections"

# name -> (generation_status, generation_metadata, expected subset of data)
CASES = {
    # ---- doc/decisions.md, D1: progress rounded once, half up, never 100 before completed
    "round/3of8": ("generating", {"last_phase": S, "batch_count": 3, "total_batches": 8},
                   secs(3, 8, 37, 36)),
    "round/5of8": ("generating", {"last_phase": S, "batch_count": 5, "total_batches": 8},
                   secs(5, 8, 62, 54)),
    "round/half-up-12.5": ("generating", {"last_phase": S, "batch_count": 1,
                                          "total_batches": 28}, secs(1, 28, 3, 13)),
    "round/validation": ("generating", {"last_phase": "validation", "batch_count": 8,
                                        "total_batches": 8},
                         gen("validation", 88, MSG_VALID, 8, 8)),
    "round/saving": ("generating", {"last_phase": "saving", "batch_count": 8,
                                    "total_batches": 8},
                     gen("saving", 98, MSG_SAVING, 8, 8)),
    "round/all-sections-done": ("generating", {"last_phase": S, "batch_count": 8,
                                               "total_batches": 8}, secs(8, 8, 100, 80)),
    "round/999of1000": ("generating", {"last_phase": S, "batch_count": 999,
                                       "total_batches": 1000}, secs(999, 1000, 99, 80)),
    "round/failed-35.5": ("failed", {"last_phase": S, "last_progress": 35.5},
                          failed(S, 36, {"retryable": False})),
    "round/failed-35.49": ("failed", {"last_phase": S, "last_progress": 35.49},
                           failed(S, 35, {"retryable": False})),
    "round/failed-100": ("failed", {"last_phase": "saving", "last_progress": 100},
                         failed("saving", 99, {"retryable": False})),
    "round/failed-99.5": ("failed", {"last_phase": "saving", "last_progress": 99.5},
                          failed("saving", 99, {"retryable": False})),
    "round/failed-250": ("failed", {"last_progress": 250}, failed(None, 99, {"retryable": False})),
    "round/failed-negative": ("failed", {"last_progress": -5},
                              failed(None, 0, {"retryable": False})),
    "round/failed-string": ("failed", {"last_progress": "35"},
                            failed(None, 0, {"retryable": False})),
    "round/failed-null": ("failed", {"last_progress": None},
                          failed(None, 0, {"retryable": False})),

    # ---- doc/decisions.md, D2: sections message = floor(100*b/t) in integers
    "msg/0of8": ("generating", {"last_phase": S, "batch_count": 0, "total_batches": 8},
                 secs(0, 8, 0, 10)),
    "msg/1of3": ("generating", {"last_phase": S, "batch_count": 1, "total_batches": 3},
                 secs(1, 3, 33, 33)),
    "msg/2of3": ("generating", {"last_phase": S, "batch_count": 2, "total_batches": 3},
                 secs(2, 3, 66, 57)),
    "msg/3of25-float-noise": ("generating", {"last_phase": S, "batch_count": 3,
                                             "total_batches": 25}, secs(3, 25, 12, 18)),
    "msg/7of10": ("generating", {"last_phase": S, "batch_count": 7, "total_batches": 10},
                  secs(7, 10, 70, 59)),
    "msg/1of7": ("generating", {"last_phase": S, "batch_count": 1, "total_batches": 7},
                 secs(1, 7, 14, 20)),

    # ---- doc/decisions.md, D3: generating before any metadata
    "nometa/sql-null": ("generating", None, meta0()),
    "nometa/empty-object": ("generating", {}, meta0()),
    "nometa/json-null": ("generating", Raw("null"), meta0()),
    "nometa/json-string": ("generating", Raw('"starting"'), meta0()),
    "nometa/json-array": ("generating", Raw("[1, 2, 3]"), meta0()),

    # ---- doc/decisions.md, D4: phase = furthest of last_phase and duration_ms.<phase> > 0
    "phase/last_phase-only": ("generating", {"last_phase": S, "batch_count": 2},
                              secs(2, 8, 25, 28)),
    "phase/duration-only-sections": ("generating", {"duration_ms": {"metadata": 1200,
                                                                    "sections": 5000},
                                                    "batch_count": 2}, secs(2, 8, 25, 28)),
    "phase/duration-only-metadata": ("generating", {"duration_ms": {"metadata": 1200}},
                                     meta0()),
    "phase/duration-beyond-last_phase": ("generating", {"last_phase": S, "batch_count": 2,
                                                        "duration_ms": {"validation": 300}},
                                         gen("validation", 88, MSG_VALID, 2, 8)),
    "phase/last_phase-beyond-duration": ("generating", {"last_phase": "saving",
                                                        "duration_ms": {"metadata": 10,
                                                                        "sections": 20}},
                                         gen("saving", 98, MSG_SAVING, 0, 8)),
    "phase/duration-zero-ignored": ("generating", {"duration_ms": {"sections": 0},
                                                   "batch_count": 4}, meta0(4)),
    "phase/duration-negative-ignored": ("generating", {"duration_ms": {"saving": -5}},
                                        meta0()),
    "phase/duration-string-ignored": ("generating", {"duration_ms": {"validation": "300"}},
                                      meta0()),
    "phase/duration-not-object": ("generating", {"duration_ms": 5000}, meta0()),
    "phase/unknown-last_phase": ("generating", {"last_phase": "publishing",
                                                "batch_count": 1}, meta0(1)),
    "phase/last_phase-wrong-case": ("generating", {"last_phase": "Sections"}, meta0()),
    "phase/last_phase-not-string": ("generating", {"last_phase": 2}, meta0()),
    "phase/validation-by-last_phase": ("generating", {"last_phase": "validation"},
                                       gen("validation", 88, MSG_VALID, 0, 8)),

    # ---- doc/decisions.md, D5: batch_count / total_batches from an untrusted document
    "batches/total-missing": ("generating", {"last_phase": S, "batch_count": 2},
                              secs(2, 8, 25, 28)),
    "batches/total-zero": ("generating", {"last_phase": S, "batch_count": 2,
                                          "total_batches": 0}, secs(2, 8, 25, 28)),
    "batches/total-string": ("generating", {"last_phase": S, "batch_count": 2,
                                            "total_batches": "4"}, secs(2, 8, 25, 28)),
    "batches/total-negative": ("generating", {"last_phase": S, "batch_count": 2,
                                              "total_batches": -4}, secs(2, 8, 25, 28)),
    "batches/total-null": ("generating", {"last_phase": S, "batch_count": 2,
                                          "total_batches": None}, secs(2, 8, 25, 28)),
    "batches/total-fraction": ("generating", {"last_phase": S, "batch_count": 2,
                                              "total_batches": 2.5}, secs(2, 8, 25, 28)),
    "batches/total-4": ("generating", {"last_phase": S, "batch_count": 1,
                                       "total_batches": 4}, secs(1, 4, 25, 28)),
    "batches/count-past-total": ("generating", {"last_phase": S, "batch_count": 12,
                                                "total_batches": 8}, secs(8, 8, 100, 80)),
    "batches/count-past-default-total": ("generating", {"last_phase": S, "batch_count": 9},
                                         secs(8, 8, 100, 80)),
    "batches/count-negative": ("generating", {"last_phase": S, "batch_count": -3,
                                              "total_batches": 8}, secs(0, 8, 0, 10)),
    "batches/count-string": ("generating", {"last_phase": S, "batch_count": "4",
                                            "total_batches": 8}, secs(0, 8, 0, 10)),
    "batches/count-bool": ("generating", {"last_phase": S, "batch_count": True,
                                          "total_batches": 8}, secs(0, 8, 0, 10)),
    "batches/count-fraction": ("generating", {"last_phase": S, "batch_count": 2.5,
                                              "total_batches": 8}, secs(0, 8, 0, 10)),

    # ---- doc/decisions.md, D6: currentModel
    "model/object-current-phase": ("generating", {"last_phase": S, "batch_count": 4,
                                                  "model_used": {"metadata": "m-meta",
                                                                 "sections": "openai/gpt-oss-20b"}},
                                   secs(4, 8, 50, 45, currentModel="openai/gpt-oss-20b")),
    "model/object-metadata-phase": ("generating", {"model_used": {"metadata": "qwen/qwen3-max",
                                                                  "sections": "x"}},
                                    meta0(currentModel="qwen/qwen3-max")),
    "model/object-validation-phase": ("generating", {"last_phase": "validation",
                                                     "model_used": {"validation": "v/1"}},
                                      gen("validation", 88, MSG_VALID, 0, 8,
                                          currentModel="v/1")),
    "model/object-no-entry": ("generating", {"last_phase": S, "batch_count": 4,
                                             "model_used": {"metadata": "m-meta"}},
                              secs(4, 8, 50, 45)),
    "model/object-entry-not-string": ("generating", {"last_phase": S, "batch_count": 4,
                                                     "model_used": {"sections": 5}},
                                      secs(4, 8, 50, 45)),
    "model/plain-string": ("generating", {"last_phase": S, "batch_count": 4,
                                          "model_used": "anthropic/claude-x"},
                           secs(4, 8, 50, 45, currentModel="anthropic/claude-x")),
    "model/absent": ("generating", {"last_phase": S, "batch_count": 4}, secs(4, 8, 50, 45)),
    "model/null": ("generating", {"last_phase": S, "batch_count": 4, "model_used": None},
                   secs(4, 8, 50, 45)),
    "model/number": ("generating", {"last_phase": S, "batch_count": 4, "model_used": 42},
                     secs(4, 8, 50, 45)),
    "model/array": ("generating", {"last_phase": S, "batch_count": 4,
                                   "model_used": ["openai/gpt-oss-20b"]},
                    secs(4, 8, 50, 45)),

    # ---- doc/decisions.md, D7: optional means absent; out-of-schema values left out
    "optional/quality-1.5": ("generating", {"quality_scores": {"overall": 1.5}}, meta0()),
    "optional/quality-negative": ("generating", {"quality_scores": {"overall": -0.1}}, meta0()),
    "optional/quality-string": ("generating", {"quality_scores": {"overall": "0.9"}}, meta0()),
    "optional/quality-null": ("generating", {"quality_scores": {"overall": None}}, meta0()),
    "optional/quality-not-object": ("generating", {"quality_scores": 0.9}, meta0()),
    "optional/quality-0": ("generating", {"quality_scores": {"overall": 0}},
                           meta0(qualityScore=0)),
    "optional/quality-1": ("generating", {"quality_scores": {"overall": 1}},
                           meta0(qualityScore=1)),
    "optional/completed-no-metadata": ("completed", None, done({})),
    "optional/completed-empty": ("completed", {}, done({})),
    "optional/completed-out-of-schema": ("completed", {"total_lessons": 24.5,
                                                       "total_sections": 8,
                                                       "cost_usd": "0.28",
                                                       "duration_ms": {"total": 1500.5},
                                                       "quality_scores": {"overall": 1.2}},
                                         done({"totalSections": 8})),
    "optional/completed-nulls": ("completed", {"total_lessons": None, "total_sections": None,
                                               "cost_usd": None, "duration_ms": None,
                                               "quality_scores": None}, done({})),
    "optional/completed-duration-not-object": ("completed", {"duration_ms": 150000},
                                               done({})),
    "optional/completed-duration-total-missing": ("completed",
                                                  {"duration_ms": {"sections": 1000}},
                                                  done({})),
    "optional/failed-no-metadata": ("failed", None, failed(None, 0, {"retryable": False})),
    "optional/failed-error-not-string": ("failed", {"error_message": 42, "retryable": True},
                                         failed(None, 0, {"retryable": True})),
    "optional/failed-retryable-string": ("failed", {"error_message": "x",
                                                    "retryable": "true"},
                                         failed(None, 0, {"error": "x", "retryable": False})),
    "optional/failed-retryable-1": ("failed", {"retryable": 1},
                                    failed(None, 0, {"retryable": False})),
    "optional/failed-retryable-false": ("failed", {"error_message": "boom",
                                                   "retryable": False},
                                        failed(None, 0, {"error": "boom",
                                                         "retryable": False})),
    "optional/failed-unknown-phase": ("failed", {"last_phase": "bogus", "last_progress": 20},
                                      failed(None, 20, {"retryable": False})),
    "optional/failed-validation-phase": ("failed", {"last_phase": "validation",
                                                    "last_progress": 87.5},
                                         failed("validation", 88, {"retryable": False})),
    "optional/failed-error-escaping": ("failed", {"error_message":
                                                  'Ошибка "quota" \\ \n\t\u0001 </script> ✓ 😀',
                                                  "retryable": True},
                                       failed(None, 0, {"error":
                                                        'Ошибка "quota" \\ \n\t\u0001 </script> ✓ 😀',
                                                        "retryable": True})),

    # ---- doc/decisions.md, D12: NULL generation_status is idle; the simple states
    "state/null-is-idle": (None, None, dict(status="idle", phase=None, progress=0,
                                            message=MSG_IDLE, metadata=None)),
    "state/null-with-metadata": (None, {"batch_count": 3, "last_phase": S},
                                 dict(status="idle", phase=None, progress=0,
                                      message=MSG_IDLE, metadata=None)),
    "state/idle": ("idle", {"batch_count": 3}, dict(status="idle", phase=None, progress=0,
                                                    message=MSG_IDLE, metadata=None)),
    "state/queued": ("queued", {"batch_count": 3, "last_phase": S},
                     dict(status="queued", phase=None, progress=0, message=MSG_QUEUED,
                          metadata=None)),
    "state/cancelled": ("cancelled", {"batch_count": 3, "last_phase": S, "last_progress": 40},
                        dict(status="cancelled", phase=None, progress=0,
                             message=MSG_CANCELLED, metadata=None)),
}

# doc/decisions.md, D12: values the service does not know -> 500 generic
UNKNOWN_STATES = {"unknown/exploded": "exploded", "unknown/empty": "",
                  "unknown/upper-case": "GENERATING", "unknown/padded": " generating"}

# doc/decisions.md, D8: numbers print as stored (JavaScript's shortest round-trip form)
COSTS = {"cost/0.28": ("0.28", "0.28"), "cost/0.1": ("0.1", "0.1"),
         "cost/0.3": ("0.3", "0.3"), "cost/3": ("3", "3"), "cost/12.345": ("12.345", "12.345"),
         "cost/0.07": ("0.07", "0.07"), "cost/1234.5678": ("1234.5678", "1234.5678"),
         "cost/negative": ("-0.5", "-0.5"), "cost/zero": ("0", "0")}
# integers beyond 64 bits are still ordinary JavaScript numbers (value compared, not text)
BIG_COSTS = {"cost/1e20": ("1e20", 1e20), "cost/-1e20": ("-1e20", -1e20),
             "cost/2^64+": ("18446744073709551617000", 1.8446744073709551617e22)}

# doc/decisions.md, D9: timestamps (created, updated) -> (startedAt, lastUpdatedAt)
TIMES = {
    "time/z": ("2025-11-05T12:00:00Z", "2025-11-05T12:01:15Z",
               "2025-11-05T12:00:00.000Z", "2025-11-05T12:01:15.000Z"),
    "time/offset": ("2025-11-05T15:00:00+03:00", "2025-11-05T07:01:15-05:00",
                    "2025-11-05T12:00:00.000Z", "2025-11-05T12:01:15.000Z"),
    "time/millis": ("2025-11-05T12:00:00.123456Z", "2025-11-05T12:00:00.5Z",
                    "2025-11-05T12:00:00.123Z", "2025-11-05T12:00:00.500Z"),
    "time/epoch": ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.001Z",
                   "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.001Z"),
    "time/before-epoch": ("1969-12-31T23:59:59.250Z", "1969-07-20T20:17:40Z",
                          "1969-12-31T23:59:59.250Z", "1969-07-20T20:17:40.000Z"),
    "time/leap-day-end": ("2024-02-29T23:59:59.999Z", "2100-02-28T23:59:59.999Z",
                          "2024-02-29T23:59:59.999Z", "2100-02-28T23:59:59.999Z"),
}

ETA_FRESH = cid("domain/eta/fresh-no-metadata")
ETA_FUTURE = cid("domain/eta/created-in-future")
ETA_FUTURE_SECTIONS = cid("domain/eta/created-in-future-sections")
ETA_FIXED = cid("domain/eta/fixed-timestamps")

# doc/decisions.md, D11: monotone ETA. All rows of one elapsed time are inserted by one statement
# (same now()), ordered by increasing progress.
PROGRESSION = ([{}] + [{"last_phase": S, "batch_count": b, "total_batches": 8}
                       for b in range(0, 9)] +
               [{"last_phase": "validation"}, {"last_phase": "saving"}])
PROGRESSION_P = [0.0] + [10 + 70 * b / 8 for b in range(0, 9)] + [87.5, 97.5]
ELAPSED = [0, 5, 14, 30, 75, 600, 86400]

CASE_INSENSITIVE = cid("domain/courseid-case")
_t_eta_insert = None


def setUpModule():
    global _t_eta_insert
    st = shared()
    rows = []
    for name, (gs, md, _exp) in CASES.items():
        rows.append(dict(id=cid("domain/" + name), gen_status=gs, meta=md))
    for name, gs in UNKNOWN_STATES.items():
        rows.append(dict(id=cid("domain/" + name), gen_status=gs, meta={"batch_count": 1}))
    for name, (stored, _printed) in COSTS.items():
        rows.append(dict(id=cid("domain/" + name), gen_status="completed",
                         meta=Raw('{"cost_usd": %s}' % stored)))
    for name, (stored, _value) in BIG_COSTS.items():
        rows.append(dict(id=cid("domain/" + name), gen_status="completed",
                         meta=Raw('{"cost_usd": %s}' % stored)))
    rows.append(dict(id=cid("domain/cost/huge"), gen_status="completed",
                     meta=Raw('{"cost_usd": 1e400, "total_lessons": 3}')))
    rows.append(dict(id=cid("domain/count/huge"), gen_status="completed",
                     meta=Raw('{"total_lessons": 1e400, "total_sections": 2}')))
    for name, (c, u, _s, _l) in TIMES.items():
        rows.append(dict(id=cid("domain/" + name), gen_status="completed", meta={},
                         created=c, updated=u))
    rows.append(dict(id=CASE_INSENSITIVE, gen_status="queued"))
    rows.append(dict(id=ETA_FIXED, gen_status="generating",
                     meta={"last_phase": S, "batch_count": 4}))
    insert_courses(st, rows)
    _t_eta_insert = time.time()
    insert_courses(st, [
        dict(id=ETA_FRESH, gen_status="generating", meta=None,
             created=Raw("now()"), updated=Raw("now()")),
        dict(id=ETA_FUTURE, gen_status="generating", meta=None,
             created=Raw("now() + interval '1 hour'"), updated=Raw("now()")),
        dict(id=ETA_FUTURE_SECTIONS, gen_status="generating",
             meta={"last_phase": S, "batch_count": 4},
             created=Raw("now() + interval '1 hour'"), updated=Raw("now()")),
    ])
    for e in ELAPSED:
        insert_courses(st, [
            dict(id=cid("domain/mono/%d/%d" % (e, i)), gen_status="generating", meta=md,
                 created=Raw("now() - interval '%d seconds'" % e), updated=Raw("now()"))
            for i, md in enumerate(PROGRESSION)])


class Domain(E2ECase):

    def check_cases(self, prefix):
        names = [n for n in CASES if n.startswith(prefix + "/")]
        self.assertTrue(names)
        for name in names:
            gs, _md, exp = CASES[name]
            with self.subTest(case=name):
                course = cid("domain/" + name)
                d = self.ok_data(self.status_of(course))
                got = {k: d[k] for k in exp}
                self.assertEqual(got, exp)
                self.assertEqual(d["courseId"], course)
                if exp["status"] == "generating":
                    self.assertIs(type(d["estimatedRemainingSeconds"]), int)
                else:
                    self.assertIsNone(d["estimatedRemainingSeconds"])
                if exp["status"] != "completed":
                    self.assertLess(d["progress"], 100)

    # doc/decisions.md, D1
    def test_01_progress_rounded_half_up_and_below_100_until_completed(self):
        self.check_cases("round")

    # doc/decisions.md, D2
    def test_02_sections_message_is_integer_share_of_batches(self):
        self.check_cases("msg")

    # doc/decisions.md, D3
    def test_03_generating_without_metadata_is_metadata_phase(self):
        self.check_cases("nometa")

    # doc/decisions.md, D4
    def test_04_phase_is_furthest_of_last_phase_and_durations(self):
        self.check_cases("phase")

    # doc/decisions.md, D5
    def test_05_batch_counts_defaulted_and_clamped(self):
        self.check_cases("batches")

    # doc/decisions.md, D6
    def test_06_current_model(self):
        self.check_cases("model")

    # doc/decisions.md, D7
    def test_07_optional_fields_absent_never_null(self):
        self.check_cases("optional")
        # the raw body never carries a null inside metadata
        for name in [n for n in CASES if n.startswith("optional/")]:
            with self.subTest(case=name):
                resp = self.status_of(cid("domain/" + name))
                self.assertNotRegex(resp.body, rb'"metadata":\{[^}]*null')

    # doc/decisions.md, D8
    def test_08_numbers_print_as_stored(self):
        for name, (_stored, printed) in COSTS.items():
            with self.subTest(case=name):
                resp = self.status_of(cid("domain/" + name))
                d = self.ok_data(resp)
                self.assertEqual(d["metadata"], {"cost": float(printed)})
                self.assertIn(b'"metadata":{"cost":' + printed.encode() + b'}', resp.body)
        for name, (_stored, value) in BIG_COSTS.items():
            with self.subTest(case=name):
                d = self.ok_data(self.status_of(cid("domain/" + name)))
                self.assertEqual(d["metadata"], {"cost": value})
        # a value no JavaScript number can hold never reaches the output as NaN/Infinity
        with self.subTest(case="cost/huge"):
            resp = self.status_of(cid("domain/cost/huge"))
            d = self.ok_data(resp)  # strict parse: Infinity/NaN would fail here
            self.assertEqual(d["metadata"], {"totalLessons": 3})
        with self.subTest(case="count/huge"):
            d = self.ok_data(self.status_of(cid("domain/count/huge")))
            self.assertEqual(d["metadata"], {"totalSections": 2})
        with self.subTest(case="qualityScore 0 prints as 0"):
            body = self.status_of(cid("domain/optional/quality-0")).body
            self.assertIn(b'"qualityScore":0}', body)

    # doc/decisions.md, D9
    def test_09_timestamps_utc_with_milliseconds(self):
        for name, (_c, _u, started, last) in TIMES.items():
            with self.subTest(case=name):
                d = self.ok_data(self.status_of(cid("domain/" + name)))
                self.assertEqual(d["startedAt"], started)
                self.assertEqual(d["lastUpdatedAt"], last)

    # doc/decisions.md, D10
    def test_10_course_id_lower_case_whatever_the_request(self):
        for variant in (CASE_INSENSITIVE.upper(),
                        CASE_INSENSITIVE[:9].upper() + CASE_INSENSITIVE[9:],
                        CASE_INSENSITIVE):
            with self.subTest(requested=variant):
                d = self.ok_data(self.status_of(variant))
                self.assertEqual(d["courseId"], CASE_INSENSITIVE)
                self.assertEqual(d["status"], "queued")

    # doc/decisions.md, D11
    def test_11a_eta_null_unless_generating(self):
        for name, (gs, _md, exp) in CASES.items():
            if exp["status"] == "generating":
                continue
            with self.subTest(case=name):
                d = self.ok_data(self.status_of(cid("domain/" + name)))
                self.assertIsNone(d["estimatedRemainingSeconds"])

    def test_11b_eta_nominal_150s_at_start(self):
        # p = 0, e < 15 s: rate = max(e/10, 1.5) = 1.5 -> ceil(100 * 1.5) = 150
        self.assertLess(time.time() - _t_eta_insert, 14, "fixture too old for this check")
        d = self.ok_data(self.status_of(ETA_FRESH))
        self.assertEqual(d["phase"], "metadata")
        self.assertEqual(d["estimatedRemainingSeconds"], 150)

    def test_11c_eta_created_in_future_counts_as_zero_elapsed(self):
        d = self.ok_data(self.status_of(ETA_FUTURE))
        self.assertEqual(d["estimatedRemainingSeconds"], 150)
        d = self.ok_data(self.status_of(ETA_FUTURE_SECTIONS))
        eta = d["estimatedRemainingSeconds"]
        self.assertIs(type(eta), int)
        self.assertGreaterEqual(eta, 0)
        self.assertLessEqual(eta, 150)

    def test_11d_eta_fixed_old_timestamps_non_negative_int(self):
        d = self.ok_data(self.status_of(ETA_FIXED))
        self.assertIs(type(d["estimatedRemainingSeconds"]), int)
        self.assertGreaterEqual(d["estimatedRemainingSeconds"], 0)

    def test_11e_eta_monotone_in_progress(self):
        for e in ELAPSED:
            with self.subTest(elapsed=e):
                etas, progs = [], []
                for i in range(len(PROGRESSION)):
                    d = self.ok_data(self.status_of(cid("domain/mono/%d/%d" % (e, i))))
                    etas.append(d["estimatedRemainingSeconds"])
                    progs.append(d["progress"])
                self.assertEqual(progs, sorted(progs))
                for k in range(1, len(etas)):
                    self.assertLessEqual(etas[k], etas[k - 1],
                                         "more progress, more time: %r" % list(zip(progs, etas)))
                self.assertTrue(all(type(x) is int and x >= 0 for x in etas), etas)

    def test_11f_eta_formula_values(self):
        # rate = max(e / max(p, 10), 1.5 * max(0, (10 - p) / 10)); eta = ceil((100 - p) * rate)
        # Rows were inserted e seconds after their created_at; allow for the time since.
        since = time.time() - _t_eta_insert + 1.0

        def eta(p, el):
            rate = max(el / max(p, 10), 1.5 * max(0, (10 - p) / 10))
            return math.ceil((100 - p) * rate)
        for e in (0, 5, 75, 600, 86400):
            for i, p in enumerate(PROGRESSION_P):
                with self.subTest(elapsed=e, progress=p):
                    d = self.ok_data(self.status_of(cid("domain/mono/%d/%d" % (e, i))))
                    got = d["estimatedRemainingSeconds"]
                    self.assertGreaterEqual(got, eta(p, e))
                    self.assertLessEqual(got, eta(p, e + since) + 1)

    # doc/decisions.md, D12
    def test_12a_null_and_simple_states(self):
        self.check_cases("state")

    def test_12b_unknown_status_is_generic_500(self):
        for name, value in UNKNOWN_STATES.items():
            with self.subTest(case=name, value=value):
                before = len(self.stack.service_log())
                resp = self.status_of(cid("domain/" + name))
                self.assert_error(resp, 500, "INTERNAL_SERVER_ERROR", MSG_INTERNAL, PROC)
                self.assert_std_headers(resp)
                if value.strip():
                    self.assertNotIn(value.strip().encode(), resp.body)
                # "logged": the worker wrote a line about it
                self.assertGreater(len(self.stack.service_log()), before,
                                   "a 500 left no line in the service log")


if __name__ == "__main__":
    unittest.main()
