#!/usr/bin/env python3
"""The progress page (web/) in headless Chromium, against the real stack.

nginx serves web/ at /progress/ beside /trpc/ (scripts/localstack.py, Stack(web=True)), with
the service's default configuration (2 workers, 1 s cache). sim/coursegen-simulate drives
one course to completion and one to a retryable failure while the page polls every 2 s,
as the contract's hook does. Checked in the browser (chromedriver, WebDriver HTTP API):

- the bar and the message follow the course: the bar never shrinks, `Осталось ~N мин`
  shows while generating, and the end is a 100 % bar with `Генерация завершена`;
- the page stops polling at the terminal status (no request for the course in nginx's
  access log afterwards);
- the failed retryable course shows `Повторить попытку`; clicking it calls
  generation.initiate, which this service does not have, and the page says so;
- 401, 403 and 404 are shown as readable messages.

Screenshots go to $BROWSER_SHOTS (default ./tests/browser/screenshots under the current
directory). BROWSER_DOCS_PNG=path also copies the final screenshot there (how
docs/progress-page.png is made). Exit 0 only if every check passed.
"""

import os
import re
import shutil
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
sys.path.insert(0, HERE)

from localstack import Stack, WEB_LOCATION  # noqa: E402
from webdriver import Chrome  # noqa: E402

ALICE = "11111111-1111-4111-8111-111111111111"
CAROL = "33333333-3333-4333-8333-333333333333"
C_DONE = "b0000000-0000-4000-8000-000000000001"
C_FAIL = "b0000000-0000-4000-8000-000000000002"
C_CAROL = "b0000000-0000-4000-8000-000000000003"
C_MISSING = "b0000000-0000-4000-8000-0000000000ff"
# Never sent to generation: its card polls all along, the page's own clock (test_1).
C_WITNESS = "b0000000-0000-4000-8000-000000000004"

SHOTS = os.environ.get("BROWSER_SHOTS") or os.path.join(os.getcwd(), "tests", "browser",
                                                          "screenshots")

CARD_STATE = """
const out = {};
for (const el of document.querySelectorAll('.generation-progress')) {
  const q = (s) => el.querySelector(s);
  const vis = (s) => !q(s).hidden && q(s).offsetParent !== null;
  out[el.dataset.course] = {
    status: el.dataset.status || null, polling: el.dataset.polling,
    error: el.dataset.error || null, retry: el.dataset.retry || null,
    width: q('.progress-fill').style.width,
    fillPx: q('.progress-fill').getBoundingClientRect().width,
    barPx: q('.progress-bar').getBoundingClientRect().width,
    message: q('.status-message').textContent,
    eta: vis('.eta') ? q('.eta').textContent : null,
    quality: vis('.quality') ? q('.quality').textContent : null,
    button: vis('.retry') ? q('.retry').textContent : null,
    note: vis('.retry-note') ? q('.retry-note').textContent : null,
    errorText: vis('.error') ? q('.error').textContent : null,
    loading: vis('.loading'),
  };
}
return out;
"""


class ProgressPage(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        shutil.rmtree(SHOTS, ignore_errors=True)
        os.makedirs(SHOTS)
        cls.stack = Stack(workers=2, web=True, sample=False)
        cls.addClassCleanup(cls.stack.close)
        for c, owner in ((C_DONE, ALICE), (C_FAIL, ALICE), (C_CAROL, CAROL),
                         (C_WITNESS, ALICE)):
            cls.stack.create_course(c, owner, "Browser test course")
        cls.browser = Chrome(SHOTS)
        cls.addClassCleanup(cls.browser.close)

    def cards(self):
        return self.browser.js(CARD_STATE)

    def requests_for(self, course):
        """Requests for `course` in nginx's access log (in the request line: the
        Referer, the page's own URL, names every course of the page)."""
        with open(self.stack.nginx.access_log, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if '"' in line and
                       course in urllib.parse.unquote(line.split('"')[1]))

    def test_1_follows_generation_to_the_end(self):
        # 12 section batches of 0.3-0.7 s: the sections phase lasts at least 3.6 s, so
        # polls every 2 s behind a 1 s cache see it at least once, however they fall.
        sim = self.stack.simulate([C_DONE + ":complete", C_FAIL + ":fail"],
                                  "--pace", "500", "--batches", "12", "--seed", "6",
                                  "--stagger", "0")
        t0 = time.monotonic()
        self.browser.get(self.stack.page_url([C_DONE, C_FAIL, C_WITNESS], user=ALICE))
        history = {C_DONE: [], C_FAIL: []}
        shot_mid = False
        while time.monotonic() - t0 < 60:
            cards = self.cards()
            for c in history:
                history[c].append(cards[c])
            if not shot_mid and cards[C_DONE]["status"] == "generating" and \
                    cards[C_DONE]["eta"]:
                self.browser.screenshot("1-generating.png")
                shot_mid = True
            if all(cards[c]["polling"] == "false" for c in history):
                break
            time.sleep(0.25)
        self.assertEqual(sim.wait(30), 0, sim.log_text())
        final = self.cards()
        self.browser.screenshot("2-completed-and-failed.png")

        done, fail = final[C_DONE], final[C_FAIL]
        self.assertEqual(done["polling"], "false", "still polling after 60 s: %r" % done)
        # Completed: a full bar and the contract's message.
        self.assertEqual((done["status"], done["width"], done["message"]),
                         ("completed", "100%", "Генерация завершена"))
        # the CSS transition of the width ends on a full bar
        done = self.wait_card(C_DONE, lambda c: abs(c["fillPx"] - c["barPx"]) <= 0.5)
        self.assertAlmostEqual(done["fillPx"], done["barPx"], delta=0.5)
        self.assertIsNone(done["eta"])
        self.assertRegex(done["quality"] or "", r"^Качество: \d{1,3}%$")
        self.assertIsNone(done["button"])
        # Seen on the way: generating with an ETA, a bar that never shrinks.
        gen = [h for h in history[C_DONE] if h["status"] == "generating"]
        self.assertTrue(gen, "the page never showed the course generating")
        self.assertTrue(any(re.fullmatch(r"Осталось ~\d+ мин", h["eta"] or "") for h in gen),
                        "no ETA shown while generating")
        widths = [int(h["width"].rstrip("%")) for h in history[C_DONE] if h["width"]]
        self.assertEqual(widths, sorted(widths), "the bar went back: %s" % widths)
        self.assertGreaterEqual(len(set(widths)), 3, widths)
        self.assertTrue(any(h["message"].startswith("Генерация секций (") for h in gen))
        # Failed and retryable: the button, exactly then.
        self.assertEqual((fail["status"], fail["message"], fail["button"]),
                         ("failed", "Ошибка генерации", "Повторить попытку"))
        for h in history[C_FAIL]:
            if h["status"] != "failed":
                self.assertIsNone(h["button"], h)
        # Polling stopped: no request for either course while the witness card, which
        # polls all along, asks three more times (two full periods of the page's timer).
        self.assertEqual(final[C_WITNESS]["polling"], "true", final[C_WITNESS])
        before = {c: self.requests_for(c) for c in history}
        witness = self.requests_for(C_WITNESS)
        deadline = time.monotonic() + 30
        while self.requests_for(C_WITNESS) < witness + 3:
            self.assertLess(time.monotonic(), deadline, "the witness card stopped polling")
            time.sleep(0.1)
        self.assertEqual({c: self.requests_for(c) for c in history}, before,
                         "the page kept polling after a terminal status")
        # Retry calls generation.initiate, which is the platform's, and says so.
        self.browser.click('[data-course="%s"] .retry' % C_FAIL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.cards()[C_FAIL]["retry"]:
            time.sleep(0.1)
        fail = self.cards()[C_FAIL]
        self.assertEqual(fail["retry"], "NOT_FOUND")
        self.assertIn("generation.initiate", fail["note"])
        self.assertIn("не этого сервиса", fail["note"])
        self.assertIn('No procedure found on path "generation.initiate"', fail["note"])
        path = self.browser.screenshot("3-retry-explained.png")
        docs = os.environ.get("BROWSER_DOCS_PNG")
        if docs:
            shutil.copyfile(path, docs)
        self.assert_png_of_viewport(path)

    def wait_card(self, course, cond, timeout=15):
        """The card of `course` once cond(card) holds (polled; fails after timeout s)."""
        deadline = time.monotonic() + timeout
        while True:
            card = self.cards()[course]
            if cond(card):
                return card
            if time.monotonic() > deadline:
                self.fail("waited %g s on the card: %r" % (timeout, card))
            time.sleep(0.05)

    def assert_png_of_viewport(self, path):
        """The screenshot is a PNG image of the whole viewport (its IHDR's size)."""
        with open(path, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n", path)
        self.assertEqual(head[12:16], b"IHDR", path)
        size = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
        view = self.browser.js("return [Math.round(innerWidth * devicePixelRatio), "
                               "Math.round(innerHeight * devicePixelRatio)];")
        self.assertEqual(list(size), view, path)

    def test_2_errors_are_readable(self):
        self.browser.get(self.stack.page_url([C_CAROL, C_MISSING], user=ALICE))
        self.wait_errors([C_CAROL, C_MISSING])
        cards = self.cards()
        self.assertEqual(cards[C_CAROL]["errorText"],
                         "У вас нет доступа к этому курсу. (403 FORBIDDEN)")
        self.assertEqual(cards[C_MISSING]["errorText"], "Курс не найден. (404 NOT_FOUND)")
        self.browser.screenshot("4-forbidden-and-not-found.png")
        expired = self.stack.token(ALICE, ttl=-3600)
        self.browser.get(self.stack.page_url([C_DONE], token=expired))
        self.wait_errors([C_DONE])
        card = self.cards()[C_DONE]
        self.assertEqual(card["errorText"],
                         "Нет доступа: токен отсутствует, недействителен или истёк. "
                         "Войдите снова. (401 UNAUTHORIZED)")
        self.assertIsNone(card["status"])
        self.browser.screenshot("5-unauthorized.png")

    def wait_errors(self, courses, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cards = self.cards()
            if all(c in cards and cards[c]["error"] and cards[c]["polling"] == "false"
                   for c in courses):
                return
            time.sleep(0.1)
        self.fail("no error shown: %r" % self.cards())

    def test_3_page_is_served(self):
        st, h, body = self.stack.request("GET", WEB_LOCATION)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/html"), h)
        st, h, _ = self.stack.request("GET", WEB_LOCATION + "progress.js")
        self.assertEqual((st, h["content-type"]), (200, "application/javascript; charset=utf-8"))


if __name__ == "__main__":
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    ok = r.wasSuccessful() and not r.skipped and r.testsRun > 0
    print("screenshots: %s" % SHOTS)
    sys.exit(0 if ok else 1)
