"""The worker side (sql/004-worker-api.sql, 005-worker-role.sql) and the whole system:
sim/coursegen-simulate drives courses through generations as coursegen_worker while this
test polls generation.getStatus through nginx, as the front end does.

Followed to the end: progress never goes down, statuses and phases come in order, the ETA
is an integer while generating and null otherwise, and the final answer carries what the
worker wrote (the simulator prints the metadata each call returned).

The stack of this module runs with CACHE_TTL_MS=0: the test polls far faster than the
front end's 2 s, and with the 1 s per-worker cache two workers may answer from caches of
different ages, so a poll 0.1 s after another could show an older state. At the front
end's pace (2 s > 1 s TTL) every answer is younger than the previous poll; the browser
test (tests/browser) runs with the default cache at that pace.
"""

import datetime
import json
import re
import subprocess
import time
import unittest

from e2e.common import (E2ECase, OWNER, cid, insert_courses, start_stack, stop_stack,
                        MSG_DONE, MSG_FAILED, MSG_CANCELLED, MSG_QUEUED)
from localstack import HarnessError, WORKER_ROLE, SERVICE_ROLE, run_psql

STATUS_RANK = {"idle": 0, "queued": 1, "generating": 2,
               "completed": 3, "failed": 3, "cancelled": 3}
PHASE_RANK = {"metadata": 1, "sections": 2, "validation": 3, "saving": 4}
TERMINAL = ("completed", "failed", "cancelled")

_STACK = None


def setUpModule():
    global _STACK
    _STACK = start_stack(workers=2, env={"CACHE_TTL_MS": "0"})


def tearDownModule():
    stop_stack(_STACK)


class SimCase(E2ECase):
    @classmethod
    def setUpClass(cls):
        cls.stack = _STACK


def shown_progress(meta):
    """What the service shows for a generating course with this metadata (doc/decisions.md,
    D1): metadata 0, sections 10 + 70 * done / total rounded half up, 88, 98."""
    phase = meta.get("last_phase")
    if phase == "sections":
        total = meta.get("total_batches", 8)
        return int((2 * (10 * total + 70 * meta.get("batch_count", 0)) + total) // (2 * total))
    return {"validation": 88, "saving": 98}.get(phase, 0)


class WorkerApi(SimCase):
    """The SQL functions one by one, as the worker role."""

    def worker(self, sql):
        return self.stack.psql(sql, user=WORKER_ROLE).strip()

    def refused(self, sql, pattern, sqlstate=None):
        with self.assertRaises(HarnessError) as cm:
            self.worker(sql)
        self.assertRegex(str(cm.exception), pattern)
        return str(cm.exception)

    def row(self, course):
        out = self.stack.psql("SELECT generation_status, generation_metadata, "
                              "extract(epoch FROM updated_at), extract(epoch FROM created_at)"
                              " FROM courses WHERE id = '%s'" % course)
        st, meta, upd, cre = out.strip().split("|")
        return st, json.loads(meta) if meta else None, float(upd), float(cre)

    def test_lifecycle_merges_and_refuses(self):
        c = cid("sim/api-lifecycle")
        insert_courses(self.stack, [dict(id=c, meta={"platform_key": "kept"})])
        q = "'%s'" % c
        self.refused("SELECT coursegen.generation_start(%s, 4)" % q,
                     r"generation_start: course %s is idle \(NULL\), only a queued" % c)
        self.refused("SELECT coursegen.generation_progress(%s, 'metadata')" % q,
                     r"only while generating")
        m = json.loads(self.worker("SELECT coursegen.generation_enqueue(%s)" % q))
        self.assertEqual(m["platform_key"], "kept")
        self.assertEqual(self.row(c)[0], "queued")
        self.assertEqual(self.status_of(c).json()["result"]["data"]["message"], MSG_QUEUED)
        self.refused("SELECT coursegen.generation_enqueue(%s)" % q, r"is queued, only an idle")
        _, _, upd0, created0 = self.row(c)
        time.sleep(0.02)
        m = json.loads(self.worker("SELECT coursegen.generation_start(%s, 4, 'm-meta')" % q))
        st, meta, upd1, created = self.row(c)
        self.assertEqual(st, "generating")
        self.assertEqual(meta, m)
        self.assertGreater(upd1, upd0, "updated_at must move on every write")
        # The platform's created_at is not the generation's start: it stays; the start
        # is in the metadata (started_at) and answered as startedAt.
        self.assertEqual(created, created0, "generation_start wrote created_at")
        started = datetime.datetime.fromisoformat(m["started_at"])
        self.assertGreater(started.timestamp(), created0)
        self.assertEqual((m["last_phase"], m["batch_count"], m["total_batches"]),
                         ("metadata", 0, 4))
        self.assertGreater(m["duration_ms"]["metadata"], 0)
        # Someone else writes a key meanwhile: the next call keeps it (merge, not
        # overwrite from a stale copy as in the contract's worker).
        self.stack.psql("UPDATE courses SET generation_metadata = generation_metadata || "
                        "'{\"written_meanwhile\": 1}' WHERE id = '%s'" % c)
        m = json.loads(self.worker(
            "SELECT coursegen.generation_progress(%s, 'sections', 1, 'm-sec', NULL, 0.8)" % q))
        self.assertEqual(m["written_meanwhile"], 1)
        self.assertEqual(m["platform_key"], "kept")
        self.assertEqual(m["model_used"], {"metadata": "m-meta", "sections": "m-sec"})
        self.assertEqual((m["last_phase"], m["batch_count"]), ("sections", 1))
        # Both signals of doc/decisions.md, D4 name the same phase.
        furthest = max((p for p, v in m["duration_ms"].items() if v > 0),
                       key=PHASE_RANK.get)
        self.assertEqual(furthest, "sections")
        data = self.status_of(c).json()["result"]["data"]
        self.assertEqual((data["phase"], data["progress"]), ("sections", 28))
        self.assertEqual(data["metadata"], {"batchesCompleted": 1, "totalBatches": 4,
                                            "currentModel": "m-sec", "qualityScore": 0.8})
        ms = int(started.timestamp() * 1000)
        self.assertEqual(data["startedAt"], "%s.%03dZ" % (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)), ms % 1000))
        # Impossible transitions: back a phase, fewer batches, past the total.
        self.refused("SELECT coursegen.generation_progress(%s, 'metadata')" % q,
                     r"in phase sections: cannot go back to phase metadata")
        self.refused("SELECT coursegen.generation_progress(%s, 'sections', 0)" % q,
                     r"1 of 4 batches done: cannot go back to 0")
        self.refused("SELECT coursegen.generation_progress(%s, 'sections', 5)" % q,
                     r"batches_completed must be 0\.\.4")
        self.refused("SELECT coursegen.generation_progress(%s, 'drafting')" % q, r'unknown phase "drafting"')
        self.refused("SELECT coursegen.generation_progress(%s, 'sections', 2, NULL, NULL, 1.5)" % q,
                     r"quality must be 0\.\.1")
        self.assertEqual(self.row(c)[1]["batch_count"], 1, "a refused call changed the row")
        self.worker("SELECT coursegen.generation_progress(%s, 'sections', 4)" % q)
        self.worker("SELECT coursegen.generation_progress(%s, 'validation', NULL, 'm-val')" % q)
        m = json.loads(self.worker("SELECT coursegen.generation_complete(%s, 12, 4, 0.28, 0.91)" % q))
        self.assertEqual(m["cost_usd"], 0.28)
        self.assertGreaterEqual(m["duration_ms"]["total"], 0)
        data = self.status_of(c).json()["result"]["data"]
        self.assertEqual(data["status"], "completed")
        self.assertEqual(data["metadata"], {"totalLessons": 12, "totalSections": 4,
                                            "cost": 0.28, "duration": m["duration_ms"]["total"],
                                            "qualityScore": 0.91})
        for sql, pat in (("coursegen.generation_progress(%s, 'saving')", "is completed, progress is"),
                         ("coursegen.generation_fail(%s, 'x')", "is completed, only a queued or generating"),
                         ("coursegen.generation_cancel(%s)", "is completed, only a queued or generating"),
                         ("coursegen.generation_enqueue(%s)", "is completed, only an idle"),
                         ("coursegen.generation_complete(%s)", "is completed, only a generating")):
            self.refused("SELECT " + sql % q, pat)

    def test_fail_keeps_phase_and_progress_then_retry(self):
        c = cid("sim/api-fail")
        insert_courses(self.stack, [dict(id=c, gen_status="idle")])
        q = "'%s'" % c
        self.worker("SELECT coursegen.generation_enqueue(%s)" % q)
        self.worker("SELECT coursegen.generation_start(%s, 8)" % q)
        self.worker("SELECT coursegen.generation_progress(%s, 'sections', 3)" % q)
        shown = self.status_of(c).json()["result"]["data"]["progress"]
        m = json.loads(self.worker("SELECT coursegen.generation_fail(%s, 'Model timed out', true)" % q))
        self.assertEqual((m["last_phase"], m["batch_count"], m["last_progress"]),
                         ("sections", 3, 36))
        data = self.status_of(c).json()["result"]["data"]
        self.assertEqual((data["status"], data["phase"], data["progress"], data["message"]),
                         ("failed", "sections", shown, MSG_FAILED))
        self.assertEqual(data["metadata"], {"error": "Model timed out", "retryable": True})
        self.assertIsNone(data["estimatedRemainingSeconds"])
        # Retry: a new attempt starts clean (no stale error, batches or durations).
        m = json.loads(self.worker("SELECT coursegen.generation_enqueue(%s)" % q))
        self.assertEqual(m["attempt"], 2)
        for k in ("error_message", "retryable", "last_progress", "batch_count", "duration_ms"):
            self.assertNotIn(k, m)
        self.worker("SELECT coursegen.generation_cancel(%s)" % q)
        data = self.status_of(c).json()["result"]["data"]
        self.assertEqual((data["status"], data["progress"], data["metadata"]),
                         ("cancelled", 0, None))

    def test_roles(self):
        c = cid("sim/api-roles")
        insert_courses(self.stack, [dict(id=c)])
        q = "'%s'" % c
        self.refused("SELECT coursegen.generation_enqueue('%s')" % cid("sim/nowhere"),
                     r"course %s not found" % cid("sim/nowhere"))
        # The worker role writes only through the functions.
        for sql in ("UPDATE courses SET generation_status = 'completed'",
                    "SELECT generation_metadata FROM courses",
                    "INSERT INTO courses (user_id) VALUES ('%s')" % OWNER,
                    "SELECT coursegen.generation__lock(%s, 'x')" % q):
            self.refused(sql, r"permission denied")
        # The service's role can call none of them.
        for fn in ("coursegen.generation_enqueue(%s)", "coursegen.generation_cancel(%s)"):
            with self.assertRaises(HarnessError) as cm:
                self.stack.psql("SELECT " + fn % q, user=SERVICE_ROLE)
            self.assertRegex(str(cm.exception), r"permission denied for (schema coursegen|function)")
        self.assertEqual(self.row(c)[0], "", "the row changed")


class Simulation(SimCase):
    """Simulated courses followed from queued to completed, failed and cancelled."""

    POLL = 0.1    # faster than the front end's 2 s, to see every phase

    def follow(self, courses, sim, timeout=60):
        """Poll every course until it is terminal; returns {course: [data, ...]}."""
        seen = {c: [] for c in courses}
        deadline = time.monotonic() + timeout
        live = set(courses)
        while live and time.monotonic() < deadline:
            for c in sorted(live):
                r = self.status_of(c)
                data = self.ok_data(r)
                seen[c].append(data)
                if data["status"] in TERMINAL:
                    live.discard(c)   # the hook stops polling here
            time.sleep(self.POLL)
        self.assertFalse(live, "not terminal after %ss: %s\n%s" % (timeout, live,
                                                                   sim.log_text()))
        return seen

    def check_sequence(self, course, obs):
        last = None
        for d in obs:
            if last is not None:
                self.assertGreaterEqual(STATUS_RANK[d["status"]], STATUS_RANK[last["status"]],
                                        "%s: status went back: %s -> %s" % (
                                            course, last["status"], d["status"]))
                if d["status"] == last["status"] == "generating":
                    self.assertGreaterEqual(d["progress"], last["progress"],
                                            "%s: progress went down" % course)
                    self.assertGreaterEqual(PHASE_RANK[d["phase"]], PHASE_RANK[last["phase"]],
                                            "%s: phase went back" % course)
                    self.assertGreaterEqual(d["lastUpdatedAt"], last["lastUpdatedAt"])
                if d["status"] in ("generating", "completed") and last["status"] != "failed":
                    self.assertGreaterEqual(d["progress"], last["progress"],
                                            "%s: progress went down" % course)
            if d["status"] == "generating":
                self.assertIs(type(d["estimatedRemainingSeconds"]), int, d)
                self.assertGreaterEqual(d["estimatedRemainingSeconds"], 0)
                self.assertLess(d["progress"], 100)
            else:
                self.assertIsNone(d["estimatedRemainingSeconds"], d)
            last = d

    def test_simulated_generations(self):
        plan = {cid("sim/run-complete-1"): "complete", cid("sim/run-complete-2"): "complete",
                cid("sim/run-fail"): "fail", cid("sim/run-fail-final"): "fail-final",
                cid("sim/run-cancel"): "cancel"}
        insert_courses(self.stack, [dict(id=c) for c in plan])
        sim = self.stack.simulate(["%s:%s" % kv for kv in sorted(plan.items())],
                                  "--pace", "300", "--batches", "3-5", "--seed", "90",
                                  "--stagger", "150")
        seen = self.follow(sorted(plan), sim)
        self.assertEqual(sim.wait(30), 0, sim.log_text())
        calls = sim.calls()
        for course, outcome in sorted(plan.items()):
            obs = seen[course]
            mine = [x for x in calls if x["course"] == course]
            self.assertTrue(mine, course)
            final = mine[-1]["metadata"]
            self.check_sequence(course, obs)
            statuses = [d["status"] for d in obs]
            end = obs[-1]
            # The row holds exactly what the last call returned.
            row = self.stack.psql("SELECT generation_metadata FROM courses WHERE id = '%s'"
                                  % course).strip()
            self.assertEqual(json.loads(row), final)
            self.assertEqual(mine[0]["call"], "enqueue")
            if outcome == "complete":
                self.assertEqual([x["call"] for x in mine][-1], "complete")
                self.assertIn("generating", statuses)
                gen_phases = [d["phase"] for d in obs if d["status"] == "generating"]
                self.assertGreaterEqual(len(set(gen_phases)), 3, gen_phases)
                self.assertEqual((end["status"], end["phase"], end["progress"], end["message"]),
                                 ("completed", "saving", 100, MSG_DONE))
                self.assertEqual(end["metadata"], {
                    "totalLessons": final["total_lessons"],
                    "totalSections": final["total_sections"],
                    "cost": final["cost_usd"],
                    "duration": final["duration_ms"]["total"],
                    "qualityScore": final["quality_scores"]["overall"]})
            elif outcome in ("fail", "fail-final"):
                self.assertEqual(mine[-1]["call"], "fail")
                self.assertEqual((end["status"], end["message"]), ("failed", MSG_FAILED))
                self.assertEqual(end["phase"], final.get("last_phase"))
                self.assertEqual(end["progress"], final["last_progress"])
                self.assertEqual(final["last_progress"], shown_progress(final))
                self.assertEqual(end["metadata"], {"error": final["error_message"],
                                                   "retryable": outcome == "fail"})
                # The failed bar stays where the generating bar last was, or further.
                gen = [d for d in obs if d["status"] == "generating"]
                if gen:
                    self.assertGreaterEqual(end["progress"], gen[-1]["progress"])
            else:
                self.assertEqual(mine[-1]["call"], "cancel")
                self.assertEqual((end["status"], end["phase"], end["progress"],
                                  end["message"], end["metadata"]),
                                 ("cancelled", None, 0, MSG_CANCELLED, None))
        self.assertIn("queued", [d["status"] for c in plan for d in seen[c]])

    def test_simulator_refuses_bad_usage(self):
        sim_bin = __import__("localstack").simulator_binary()
        p = subprocess.run([sim_bin, "not-a-uuid"], capture_output=True, text=True,
                           env={"DATABASE_URL": self.stack.worker_url})
        self.assertEqual(p.returncode, 2)
        self.assertIn("not COURSE-UUID", p.stderr)
        # A course in the wrong state: the error is reported, the exit status is 1.
        c = cid("sim/run-already-completed")
        insert_courses(self.stack, [dict(id=c, gen_status="completed")])
        p = subprocess.run([sim_bin, "--quiet", "--pace", "1", c + ":complete"],
                           capture_output=True, text=True, timeout=30,
                           env={"DATABASE_URL": self.stack.worker_url})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"%s enqueue: generation_enqueue: course %s is completed"
                         % (c, c))
        self.assertNotIn(self.stack.pg.passwords[WORKER_ROLE], p.stderr + p.stdout)


if __name__ == "__main__":
    unittest.main()
