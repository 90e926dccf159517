#!/usr/bin/env python3
"""A page on one origin calls the service on another, in headless Chromium (issue 15).

The page (tests/browser/cors/: index.html, page.js) uses the real @trpc/client 11.25.2,
bundled with esbuild from the pinned npm project beside it (package-lock.json; `npm ci`
into a work folder, kept until `make clean`). It calls generation.getStatus with a
token through httpBatchLink (GET), httpBatchStreamLink (JSONL, trpc-accept) and
httpLink with methodOverride 'POST' (content-type), each with `authorization` and
`x-trpc-source` headers, so the browser sends a CORS preflight before every call.

The service runs behind the shipped nginx config (scripts/localstack.py) with
CORS_ORIGINS naming one origin, http://127.0.0.1:A. Two static servers serve the same
page, on port A (allowed) and port B (a different origin, not on the list):

- from A every call answers with the course's status;
- from B every call fails in the browser (TRPCClientError, "Failed to fetch"), and
  nginx's access log shows why: the preflights were refused with 403, and no GET or
  POST followed them.

Needs Debian's chromium and chromium-driver, Node.js and npm (the first run needs the
npm registry). Work folder: $COURSEGEN_CORS_WORK, else ./tests/browser/cors-work under
the current (build) directory. Exit 0 only if every check passed.
"""

import filecmp
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
sys.path.insert(0, HERE)

from localstack import Stack, free_port  # noqa: E402
from webdriver import Chrome  # noqa: E402

SRC = os.path.join(HERE, "cors")
MANIFEST = ("package.json", "package-lock.json", ".npmrc")
PAGE = ("index.html", "page.js")
WORK = os.environ.get("COURSEGEN_CORS_WORK") or os.path.join(os.getcwd(), "tests",
                                                               "browser", "cors-work")
ALICE = "11111111-1111-4111-8111-111111111111"
COURSE = "c0000000-0000-4000-8000-00000000c025"


def build_page():
    """npm ci (when the pinned project changed) and bundle; returns the folder to serve."""
    os.makedirs(WORK, exist_ok=True)
    installed = os.path.join(WORK, ".installed")
    fresh = os.path.isdir(os.path.join(WORK, "node_modules")) and all(
        os.path.exists(os.path.join(installed, f)) and
        filecmp.cmp(os.path.join(SRC, f), os.path.join(installed, f), shallow=False)
        for f in MANIFEST)
    if not fresh:
        shutil.rmtree(os.path.join(WORK, "node_modules"), ignore_errors=True)
        shutil.rmtree(installed, ignore_errors=True)
        for f in MANIFEST:
            shutil.copy(os.path.join(SRC, f), os.path.join(WORK, f))
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=warn"],
                       cwd=WORK, check=True)
        os.makedirs(installed)
        for f in MANIFEST:
            shutil.copy(os.path.join(SRC, f), os.path.join(installed, f))
    www = os.path.join(WORK, "www")
    shutil.rmtree(www, ignore_errors=True)
    os.makedirs(www)
    shutil.copy(os.path.join(SRC, "entry.mjs"), os.path.join(WORK, "entry.mjs"))
    subprocess.run([os.path.join(WORK, "node_modules", ".bin", "esbuild"), "entry.mjs",
                    "--bundle", "--format=iife", "--global-name=TRPC",
                    "--target=chrome100", "--log-level=warning",
                    "--outfile=" + os.path.join(www, "trpc-client.js")],
                   cwd=WORK, check=True)
    for f in PAGE:
        shutil.copy(os.path.join(SRC, f), os.path.join(www, f))
    return www


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root, port):
    handler = functools.partial(Quiet, directory=root)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class CrossOriginPage(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        www = build_page()
        cls.allowed_port, cls.other_port = free_port(), free_port()
        while cls.other_port == cls.allowed_port:
            cls.other_port = free_port()
        cls.servers = [serve(www, cls.allowed_port), serve(www, cls.other_port)]
        for s in cls.servers:
            cls.addClassCleanup(s.server_close)
            cls.addClassCleanup(s.shutdown)
        cls.stack = Stack(workers=2, sample=False, env={
            "CORS_ORIGINS": "http://127.0.0.1:%d" % cls.allowed_port})
        cls.addClassCleanup(cls.stack.close)
        cls.stack.create_course(COURSE, ALICE, "Cross-origin course")
        shots = os.path.join(os.path.dirname(WORK), "screenshots")
        cls.browser = Chrome(shots)
        cls.addClassCleanup(cls.browser.close)

    def run_page(self, port):
        """Open the page from 127.0.0.1:port; return (results, new nginx log lines)."""
        with open(self.stack.nginx.access_log, encoding="utf-8") as f:
            before = len(f.readlines())
        token = self.stack.token(ALICE)
        self.browser.get("http://127.0.0.1:%d/index.html#api=%s&token=%s&course=%s" % (
            port, self.stack.url + "/trpc", token, COURSE))
        deadline = time.monotonic() + 60
        while not self.browser.js("return window.__done === true"):
            self.assertLess(time.monotonic(), deadline, "the page never finished")
            time.sleep(0.1)
        results = self.browser.js("return window.__results")
        self.browser.screenshot("cors-%d.png" % port)
        # nginx writes its access log line after the answer: wait for the lines of
        # every request the page made (at least one per link).
        deadline = time.monotonic() + 10
        while True:
            with open(self.stack.nginx.access_log, encoding="utf-8") as f:
                lines = f.readlines()[before:]
            if len(lines) >= len(results) or time.monotonic() > deadline:
                return results, lines
            time.sleep(0.05)

    def test_allowed_origin_works(self):
        results, lines = self.run_page(self.allowed_port)
        self.assertEqual(set(results), {"batch", "stream", "post"})
        for name, r in results.items():
            with self.subTest(link=name):
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["data"]["courseId"], COURSE)
                self.assertEqual(r["data"]["status"], "idle")
        methods = [line.split('"')[1].split(" ")[0] for line in lines]
        self.assertIn("OPTIONS", methods, lines)   # the browser did ask first
        self.assertIn("GET", methods, lines)
        self.assertIn("POST", methods, lines)

    def test_other_origin_fails_in_the_browser(self):
        results, lines = self.run_page(self.other_port)
        self.assertEqual(set(results), {"batch", "stream", "post"})
        for name, r in results.items():
            with self.subTest(link=name):
                self.assertFalse(r["ok"], r)
                self.assertEqual(r["name"], "TRPCClientError", r)
                self.assertIn("Failed to fetch", r["message"], r)
        self.assertTrue(lines)
        for line in lines:
            request, status = line.split('"')[1], line.split('"')[2].split()[0]
            self.assertTrue(request.startswith("OPTIONS "), line)
            self.assertEqual(status, "403", line)


if __name__ == "__main__":
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    sys.exit(0 if r.wasSuccessful() and r.testsRun > 0 and not r.skipped else 1)
