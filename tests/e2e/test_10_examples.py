"""The three example responses of the contract (section 5), reproduced field by field."""

import math
import time
import unittest

from e2e.common import (E2ECase, DATA_KEYS, DONE_META, FAIL_META, GEN_META, Raw, cid,
                        insert_courses, shared,
                        strict_loads, MSG_DONE, MSG_FAILED, msg_sections)

GEN = cid("examples/generating")
GEN_LIVE = cid("examples/generating-live")
DONE = cid("examples/completed")
FAIL = cid("examples/failed")

_t_live_insert = None


def setUpModule():
    global _t_live_insert
    st = shared()
    insert_courses(st, [
        dict(id=GEN, gen_status="generating", meta=GEN_META,
             created="2025-11-05T12:00:00Z", updated="2025-11-05T12:01:15Z"),
        dict(id=DONE, gen_status="completed", meta=DONE_META,
             created="2025-11-05T12:00:00Z", updated="2025-11-05T12:02:30Z"),
        dict(id=FAIL, gen_status="failed", meta=FAIL_META,
             created="2025-11-05T12:00:00Z", updated="2025-11-05T12:01:45Z"),
    ])
    _t_live_insert = time.time()
    insert_courses(st, [dict(id=GEN_LIVE, gen_status="generating", meta=GEN_META,
                             created=Raw("now() - interval '75 seconds'"),
                             updated=Raw("now()"))])


class ContractExamples(E2ECase):

    def test_generating_example(self):
        d = self.ok_data(self.status_of(GEN))
        eta = d.pop("estimatedRemainingSeconds")
        self.assertEqual(d, {
            "courseId": GEN,
            "status": "generating",
            "phase": "sections",
            "progress": 45,
            "message": msg_sections(50),
            "startedAt": "2025-11-05T12:00:00.000Z",
            "lastUpdatedAt": "2025-11-05T12:01:15.000Z",
            "metadata": {"batchesCompleted": 4, "totalBatches": 8,
                         "currentModel": "openai/gpt-oss-20b", "qualityScore": 0.87},
        })
        # started long ago: any non-negative integer will do
        self.assertIs(type(eta), int)
        self.assertGreaterEqual(eta, 0)

    def test_generating_example_eta_follows_formula(self):
        # p = 45, e = seconds since created_at (75 s at insert time):
        # rate = max(e/45, 0) -> eta = ceil(55 * e / 45); 75 s -> 92.
        resp = self.status_of(GEN_LIVE)
        t_after = time.time()
        d = self.ok_data(resp)
        self.assertEqual(d["progress"], 45)
        eta = d["estimatedRemainingSeconds"]
        self.assertIs(type(eta), int)
        e_max = 75 + (t_after - _t_live_insert) + 1.0
        lo = math.ceil(55 * 75 / 45)
        hi = math.ceil(55 * e_max / 45)
        self.assertGreaterEqual(eta, lo)
        self.assertLessEqual(eta, hi)

    def test_completed_example(self):
        resp = self.status_of(DONE)
        d = self.ok_data(resp)
        self.assertEqual(d, {
            "courseId": DONE,
            "status": "completed",
            "phase": "saving",
            "progress": 100,
            "message": MSG_DONE,
            "estimatedRemainingSeconds": None,
            "startedAt": "2025-11-05T12:00:00.000Z",
            "lastUpdatedAt": "2025-11-05T12:02:30.000Z",
            "metadata": {"totalLessons": 24, "totalSections": 8, "cost": 0.28,
                         "duration": 150000, "qualityScore": 0.88},
        })
        self.assertIn(b'"cost":0.28,', resp.body)
        self.assertIn(b'"qualityScore":0.88', resp.body)
        self.assertIn(b'"progress":100,', resp.body)

    def test_failed_example(self):
        d = self.ok_data(self.status_of(FAIL))
        self.assertEqual(d, {
            "courseId": FAIL,
            "status": "failed",
            "phase": "sections",
            "progress": 35,
            "message": MSG_FAILED,
            "estimatedRemainingSeconds": None,
            "startedAt": "2025-11-05T12:00:00.000Z",
            "lastUpdatedAt": "2025-11-05T12:01:45.000Z",
            "metadata": {"error": "Token budget exceeded, Gemini fallback failed",
                         "retryable": True},
        })

    def test_field_order_matches_contract(self):
        # The spec fixes the order of data and metadata fields (as the Node service
        # would serialize them); clients do not depend on it, the fixtures do.
        cases = [
            (GEN, ["batchesCompleted", "totalBatches", "currentModel", "qualityScore"]),
            (DONE, ["totalLessons", "totalSections", "cost", "duration", "qualityScore"]),
            (FAIL, ["error", "retryable"]),
        ]
        for course, md_keys in cases:
            with self.subTest(course=course):
                resp = self.status_of(course)
                self.assertEqual(resp.status, 200, resp)
                data = strict_loads(resp.body)["result"]["data"]
                self.assertEqual(list(data.keys()), DATA_KEYS)
                self.assertEqual(list(data["metadata"].keys()), md_keys)

    def test_response_body_is_utf8(self):
        # Russian text: the body decodes as UTF-8 and carries the exact message.
        resp = self.status_of(DONE)
        self.assertEqual(resp.status, 200)
        text = resp.body.decode("utf-8")
        self.assertEqual(strict_loads(text)["result"]["data"]["message"], MSG_DONE)


if __name__ == "__main__":
    unittest.main()
