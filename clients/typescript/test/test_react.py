"""test_react.py: the package's hook and component in headless Chromium, against the
real stack (scripts/localstack.py: PostgreSQL, the service's workers, nginx with the
shipped config) while sim/coursegen-simulate drives the courses.

The sample front end (test/frontend/src/app.tsx, bundled by esbuild) is served by
the local stack's nginx at /progress/ from $CLIENT_WEB_DIR, next to /trpc/. Checked:

- a simulated generation followed to `completed`: the progress the component
  rendered never went down, onComplete was called once, and afterwards no request
  for the course reaches nginx while a canary query on the same page (polling every
  2 s regardless) makes two more: the hook stopped polling; hiding and showing the
  page brings none either;
- a retryable failure shows `Повторить попытку`; onFailed was called; the button
  calls onRetry and the hook asks once more, then stops again; a cancelled course
  stops polling too;
- an expired token: the 401 reaches onError (UNAUTHORIZED) and is shown in Russian;
  the hook neither retries nor polls; 403 and 404 reach onError and read as on the
  plain progress page;
- a hidden page (the window minimized: document.visibilityState 'hidden') makes no
  request while the canary makes two; shown again, the hook asks at once.

No timed assertion: every wait is for a condition (nginx's access log, the page's
recorded events), bounded generously. Chromium: Debian's chromium + chromium-driver.
"""

import os
import re
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.abspath(os.environ.get("COURSEGEN_TESTS_DIR")
                        or os.path.join(HERE, "..", "..", "..", "tests"))
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, "browser"))
sys.path.insert(0, os.path.join(os.path.dirname(TESTS), "scripts"))

import localstack  # noqa: E402
from localstack import Stack, WEB_LOCATION  # noqa: E402
from webdriver import Chrome  # noqa: E402

ALICE = "11111111-1111-4111-8111-111111111111"
C_DONE = "c0000000-0000-4000-8000-000000000001"
C_FAIL = "c0000000-0000-4000-8000-000000000002"
C_GEN = "c0000000-0000-4000-8000-000000000003"      # generating, never changes
C_CANARY = "c0000000-0000-4000-8000-000000000004"   # generating, never changes
C_AUTH = "c0000000-0000-4000-8000-000000000005"
C_CANCEL = "c0000000-0000-4000-8000-000000000006"
C_CAROL = "c0000000-0000-4000-8000-000000000007"    # another user's course
C_MISSING = "c0000000-0000-4000-8000-0000000000ff"
CAROL = "33333333-3333-4333-8333-333333333333"

WEB_DIR = os.environ.get("CLIENT_WEB_DIR", "")
SHOTS = os.environ.get("CLIENT_SHOTS") or os.path.join(os.getcwd(), "screenshots")
REQUEST_LINE = re.compile(r'"[A-Z]+ (\S+) HTTP/[0-9.]+"')
BOUND = 90  # seconds: the bound of every wait (never reached when things work)

STATE = """
const out = {};
for (const el of document.querySelectorAll('.generation-progress')) {
  const q = (s) => el.querySelector(s);
  const text = (s) => (q(s) ? q(s).textContent : null);
  out[el.dataset.course] = {
    status: el.dataset.status || null, polling: el.dataset.polling,
    error: el.dataset.error || null,
    width: q('.progress-fill') ? q('.progress-fill').style.width : null,
    message: text('.status-message'), eta: text('.eta'), quality: text('.quality'),
    button: text('.retry'), errorText: text('.error'), loading: text('.loading'),
  };
}
return {cards: out, events: window.__test.events, history: window.__test.history,
        visibility: document.visibilityState};
"""


class ReactClient(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(os.path.join(WEB_DIR, "app.js")):
            raise RuntimeError("CLIENT_WEB_DIR has no app.js: %r" % WEB_DIR)
        os.makedirs(SHOTS, exist_ok=True)
        localstack.WEB_DIR = WEB_DIR   # the local stack serves this folder at /progress/
        cls.stack = Stack(workers=2, web=True, sample=False)
        cls.addClassCleanup(cls.stack.close)
        for c in (C_DONE, C_FAIL, C_GEN, C_CANARY, C_AUTH, C_CANCEL):
            cls.stack.create_course(c, ALICE, "React client test course")
        cls.stack.create_course(C_CAROL, CAROL, "Carol's course")
        cls.stack.psql(
            "UPDATE courses SET generation_status = 'generating', generation_metadata ="
            " '{\"last_phase\": \"sections\", \"batch_count\": 2, \"total_batches\": 8}',"
            " created_at = now() - interval '30 seconds' WHERE id IN ('%s', '%s')"
            % (C_GEN, C_CANARY))
        cls.browser = Chrome(SHOTS)
        cls.addClassCleanup(cls.browser.close)

    # -- helpers

    def open(self, courses, canary=None, token=None):
        q = [("course", c) for c in courses] + ([("canary", canary)] if canary else [])
        tok = token or self.stack.token(ALICE)
        self.browser.get("%s%s?%s#token=%s" % (self.stack.url, WEB_LOCATION,
                                               urllib.parse.urlencode(q), tok))

    def state(self):
        return self.browser.js(STATE)

    def requests_for(self, course):
        """tRPC requests whose input names `course` that reached nginx (its access
        log; the request line only: the Referer names every course of the page)."""
        n = 0
        with open(self.stack.nginx.access_log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = REQUEST_LINE.search(line)
                if m and m.group(1).startswith("/trpc/") and \
                        course in urllib.parse.unquote(m.group(1)):
                    n += 1
        return n

    def wait_for(self, what, cond, bound=BOUND):
        """Poll cond() until it returns a true value (returned); fail after `bound`."""
        deadline = time.monotonic() + bound
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                self.fail("waited %d s for %s; page: %r" % (bound, what, self.state()))
            time.sleep(0.1)

    def canary_ticks(self, n):
        """Wait until the canary (polling every 2 s, hidden or not) has made n more
        requests: at least 2(n-1) s of the page's own time have passed."""
        start = self.requests_for(C_CANARY)
        self.wait_for("%d canary requests" % n, lambda: self.requests_for(C_CANARY) >= start + n)

    # -- tests

    def test_1_completed_and_failed(self):
        # 12 batches at a 500 ms pace: the sections phase outlasts several polls.
        sim = self.stack.simulate([C_DONE + ":complete", C_FAIL + ":fail",
                                   C_CANCEL + ":cancel"],
                                  "--pace", "500", "--batches", "12", "--seed", "6",
                                  "--stagger", "0")
        self.open([C_DONE, C_FAIL, C_CANCEL], canary=C_CANARY)
        events = lambda: self.state()["events"]  # noqa: E731
        self.wait_for("onComplete, onFailed and cancelled", lambda: {
            (e["type"], e["courseId"]) for e in events()} >= {
                ("complete", C_DONE), ("failed", C_FAIL)}
            and self.state()["cards"][C_CANCEL]["status"] == "cancelled")
        self.assertEqual(sim.wait(60), 0, sim.log_text())
        self.browser.screenshot("react-1-completed-and-failed.png")
        st = self.state()
        done, fail = st["cards"][C_DONE], st["cards"][C_FAIL]

        # Completed: full bar, the contract's message, no ETA, a quality score.
        self.assertEqual((done["status"], done["width"], done["message"], done["polling"]),
                         ("completed", "100%", "Генерация завершена", "false"))
        self.assertIsNone(done["eta"])
        self.assertRegex(done["quality"] or "", r"^Качество: \d{1,3}%$")
        self.assertIsNone(done["button"])
        # The way there: generating with an ETA at some point, progress never down.
        hist = st["history"][C_DONE]
        progress = [h["progress"] for h in hist if h["progress"] is not None]
        self.assertEqual(progress, sorted(progress), "progress went down: %r" % hist)
        self.assertGreaterEqual(len(set(progress)), 3, hist)
        self.assertEqual(progress[-1], 100)
        self.assertIn("generating", [h["status"] for h in hist])
        self.assertEqual([e for e in st["events"] if e["type"] == "complete"],
                         [{"type": "complete", "courseId": C_DONE, "progress": 100}],
                         "onComplete exactly once")
        # Failed and retryable: the button, onFailed, no onError.
        self.assertEqual((fail["status"], fail["message"], fail["button"], fail["polling"]),
                         ("failed", "Ошибка генерации", "Повторить попытку", "false"))
        self.assertIn({"type": "failed", "courseId": C_FAIL, "retryable": True}, st["events"])
        self.assertNotIn("error", [e["type"] for e in st["events"]])
        for h in st["history"][C_FAIL]:
            self.assertLessEqual(h["progress"] or 0, 99, h)

        cancel = st["cards"][C_CANCEL]
        self.assertEqual((cancel["message"], cancel["polling"], cancel["button"]),
                         ("Генерация отменена", "false", None))

        # Polling stopped: two canary requests later, not one more for any course.
        before = tuple(self.requests_for(c) for c in (C_DONE, C_FAIL, C_CANCEL))
        self.assertGreaterEqual(min(before), 2, "the hook polled: %r" % (before,))
        self.canary_ticks(2)
        self.assertEqual(tuple(self.requests_for(c) for c in (C_DONE, C_FAIL, C_CANCEL)),
                         before, "requests after a terminal status")
        # Nor when the page is hidden and shown again (which refetches stale queries:
        # test_3): a terminal answer never goes stale.
        self.browser._s("POST", "/window/minimize", {})
        self.wait_for("hidden", lambda: self.state()["visibility"] == "hidden")
        self.browser._s("POST", "/window/rect", {"width": 900, "height": 900})
        self.wait_for("visible", lambda: self.state()["visibility"] == "visible")
        self.canary_ticks(2)
        self.assertEqual(tuple(self.requests_for(c) for c in (C_DONE, C_FAIL, C_CANCEL)),
                         before, "requests after a terminal status, page shown again")

        # Retry: onRetry, then one more request (still failed), then quiet again.
        self.browser.click('[data-course="%s"] .retry' % C_FAIL)
        self.wait_for("onRetry and one more request", lambda: (
            {"type": "retry", "courseId": C_FAIL} in self.state()["events"]
            and self.requests_for(C_FAIL) == before[1] + 1
            and self.state()["cards"][C_FAIL]["polling"] == "false"))
        self.canary_ticks(2)
        self.assertEqual(self.requests_for(C_FAIL), before[1] + 1)

    def test_2_unauthorized_reaches_on_error(self):
        expired = self.stack.token(ALICE, ttl=-3600)
        n0 = self.requests_for(C_AUTH)
        self.open([C_AUTH], token=expired)
        ev = self.wait_for("onError", lambda: [
            e for e in self.state()["events"] if e["type"] == "error"])
        self.assertEqual(ev, [{"type": "error", "courseId": C_AUTH, "code": "UNAUTHORIZED",
                               "httpStatus": 401}])
        card = self.state()["cards"][C_AUTH]
        self.assertEqual(card["errorText"],
                         "Нет доступа: токен отсутствует, недействителен или истёк. "
                         "Войдите снова. (401 UNAUTHORIZED)")
        self.assertEqual((card["status"], card["polling"], card["error"], card["loading"]),
                         (None, "false", "UNAUTHORIZED", None))
        # A client error is neither retried nor polled: one request.
        self.assertEqual(self.requests_for(C_AUTH), n0 + 1)
        self.browser.screenshot("react-2-unauthorized.png")

    def test_2b_forbidden_and_not_found(self):
        self.open([C_CAROL, C_MISSING])
        ev = self.wait_for("two onError calls", lambda: (lambda e: len(e) == 2 and e)(
            [e for e in self.state()["events"] if e["type"] == "error"]))
        self.assertEqual(sorted((e["courseId"], e["code"], e["httpStatus"]) for e in ev),
                         sorted([(C_CAROL, "FORBIDDEN", 403), (C_MISSING, "NOT_FOUND", 404)]))
        cards = self.state()["cards"]
        self.assertEqual(cards[C_CAROL]["errorText"],
                         "У вас нет доступа к этому курсу. (403 FORBIDDEN)")
        self.assertEqual(cards[C_MISSING]["errorText"], "Курс не найден. (404 NOT_FOUND)")

    def test_3_hidden_page_does_not_poll(self):
        self.open([C_GEN], canary=C_CANARY)
        n0 = self.requests_for(C_GEN)
        self.wait_for("polling", lambda: self.requests_for(C_GEN) >= n0 + 2)
        card = self.state()["cards"][C_GEN]
        self.assertEqual((card["status"], card["polling"]), ("generating", "true"))
        self.assertRegex(card["eta"] or "", r"^Осталось ~\d+ мин$")
        self.assertTrue(card["message"].startswith("Генерация секций ("), card)
        self.browser.screenshot("react-3-generating.png")

        self.browser._s("POST", "/window/minimize", {})
        self.assertEqual(self.state()["visibility"], "hidden")
        self.canary_ticks(1)            # a request in flight when hidden has landed
        hidden = self.requests_for(C_GEN)
        self.canary_ticks(2)
        self.assertEqual(self.requests_for(C_GEN), hidden, "polled while hidden")

        self.browser._s("POST", "/window/rect", {"width": 900, "height": 900})
        self.wait_for("visible", lambda: self.state()["visibility"] == "visible")
        self.wait_for("a request once shown", lambda: self.requests_for(C_GEN) > hidden)
        self.wait_for("polling again", lambda: self.requests_for(C_GEN) >= hidden + 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
