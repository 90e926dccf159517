"""webdriver.py: a minimal W3C WebDriver client for chromedriver, standard library only.

    with Chrome(screenshots_dir) as b:
        b.get(url)
        b.js("return document.title")
        b.screenshot("page.png")

Starts chromedriver on a free 127.0.0.1 port and one headless Chromium session with a
fresh profile in a temporary directory; close() ends the session, stops chromedriver
(and with it Chromium) and removes the profile. Binaries: $CHROMIUM (default
/usr/bin/chromium) and $CHROMEDRIVER (default /usr/bin/chromedriver), from Debian's
chromium and chromium-driver packages.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

HEADLESS_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=900,900",
                 "--force-device-scale-factor=1", "--lang=ru-RU"]


class WebDriverError(RuntimeError):
    pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(name, env, default):
    path = os.environ.get(env) or shutil.which(name) or default
    if not os.access(path, os.X_OK):
        raise WebDriverError("%s not found (Debian package %s; or set %s)" % (
            name, "chromium" if name == "chromium" else "chromium-driver", env))
    return path


class Chrome:
    def __init__(self, workdir, timeout=30):
        self.chromium = find("chromium", "CHROMIUM", "/usr/bin/chromium")
        self.chromedriver = find("chromedriver", "CHROMEDRIVER", "/usr/bin/chromedriver")
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="coursegen-chromium-")
        self.port = _free_port()
        self.log = os.path.join(workdir, "chromedriver.log")
        self.session = None
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.chromedriver, "--port=%d" % self.port, "--allowed-ips=127.0.0.1",
                 "--log-path=" + self.log],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if self._call("GET", "/status", timeout=2)["ready"]:
                        break
                except (OSError, WebDriverError):
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise WebDriverError("chromedriver did not start; see " + self.log)
                time.sleep(0.05)
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": {
                    "binary": self.chromium,
                    "args": HEADLESS_ARGS + ["--user-data-dir=" + self.profile],
                },
            }}}
            self.session = self._call("POST", "/session", caps, timeout=60)["sessionId"]
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            try:
                v = json.loads(e.read())["value"]
                msg = "%s: %s" % (v.get("error"), v.get("message", "")[:500])
            except (ValueError, KeyError):
                msg = str(e)
            raise WebDriverError("%s %s: %s" % (method, path, msg))

    def _s(self, method, path, body=None, timeout=30):
        return self._call(method, "/session/%s%s" % (self.session, path), body, timeout)

    def get(self, url):
        self._s("POST", "/url", {"url": url}, timeout=60)

    def js(self, script, *args):
        """Run `script` (a function body; `arguments` holds args) and return its value."""
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, css):
        el = self._s("POST", "/element", {"using": "css selector", "value": css})
        eid = next(iter(el.values()))
        self._s("POST", "/element/%s/click" % eid, {})

    def screenshot(self, name):
        """Save a PNG of the viewport as <workdir>/<name>; returns the path."""
        png = base64.b64decode(self._s("GET", "/screenshot"))
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(png)
        return path

    def close(self):
        if self.session:
            try:
                self._s("DELETE", "", timeout=15)
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        # chromedriver's children (Chromium and its helpers) share its process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
