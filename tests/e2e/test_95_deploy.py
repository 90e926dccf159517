"""The deployment of the README's "Deploying the pool, step by step", replayed from
the README's own commands (issue 16): the settings file from the shipped example,
the check, the standalone pool started as root with RUN_AS_USER as the systemd unit
starts it, behind the shipped nginx site, a token minted as the README says, the
status, health and status page, a reload, and a graceful stop.

The commands are read from the README and run through sh, with the paths moved:
/etc/coursegen-status and /run/coursegen-status go to a temporary folder,
/usr/share/coursegen-status is the source tree, http://127.0.0.1:8080 the local stack's
nginx (which serves the shipped site, with the upstream socket the local stack's). The
commands that need the real system are not run and are listed: apt-get, the build
and `make install`, the editor (the test edits the file as the README says), and
copying the site into /etc/nginx (scripts/localstack.py does the equivalent).
"""

import json
import os
import signal
import subprocess
import unittest

from e2e.common import OWNER, cid, insert_courses, start_stack, stop_stack, wait_for
from apache import binary

STACK = None
COURSE = cid("deploy-course")
NOT_RUN = ("apt-get ", "autoreconf ", "./configure ", "make", "editor ", "cp ",
           "ln -s ", "nginx -t")


def setUpModule():
    global STACK
    STACK = start_stack(workers=1)
    insert_courses(STACK, [dict(id=COURSE, gen_status="completed",
                                meta={"total_lessons": 3})])
    STACK.service.stop()


def tearDownModule():
    if STACK is not None:
        stop_stack(STACK)


def readme_commands():
    with open(os.path.join(os.environ["top_srcdir"], "README"), encoding="utf-8") as f:
        text = f.read()
    sec = text.split("\nDeploying the pool, step by step\n", 1)[1]
    sec = sec.split("\nLayout\n", 1)[0]
    return [l[4:] for l in sec.splitlines() if l.startswith("    ") and l.strip()]


class Deploy(unittest.TestCase):

    def setUp(self):
        self.master = None

    def tearDown(self):
        if self.master is not None and self.master.poll() is None:
            self.master.send_signal(signal.SIGTERM)
            try:
                self.master.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()

    def test_deploy_from_the_readme(self):
        if os.geteuid() != 0:
            self.skipTest("the README's deployment runs as root (install -o root)")
        top = os.path.abspath(os.environ["top_srcdir"])
        root = os.path.join(STACK.root, "deploy")
        etc, run = os.path.join(root, "etc"), os.path.join(root, "run")
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)
        log_path = os.path.join(root, "master.log")
        subs = [("/usr/share/coursegen-status", top), ("/etc/coursegen-status", etc),
                ("/run/coursegen-status", run), ("http://127.0.0.1:8080", STACK.url)]
        env = dict(os.environ)
        for k in list(env):
            if k in ("DATABASE_URL", "JWT_SECRET", "LISTEN", "RUN_AS_USER", "COURSEGEN_CONFIG"):
                del env[k]
        env["PATH"] = os.path.dirname(os.path.abspath(binary())) + ":" + env["PATH"]
        secret = STACK._service_env()["JWT_SECRET"]
        conf = os.path.join(etc, "coursegen-status.conf")
        cmds = readme_commands()
        self.assertGreater(len(cmds), 15, cmds)
        done, not_run, outputs = [], [], {}

        def sh(cmd, **kw):
            return subprocess.run(["sh", "-c", cmd], env=env, cwd=top, capture_output=True,
                                  text=True, timeout=60, **kw)

        for cmd in cmds:
            if cmd.startswith(NOT_RUN):
                not_run.append(cmd)
                if cmd.startswith("editor "):
                    # What the operator types: the database, the secret. The socket and
                    # the pid file move with /run.
                    with open(conf) as f:
                        text = f.read()
                    self.assertIn("LISTEN=unix:/run/coursegen-status/fcgi.sock", text)
                    lines = []
                    for line in text.splitlines():
                        if line.startswith("DATABASE_URL="):
                            line = "DATABASE_URL=" + STACK.database_url
                        elif line.startswith("JWT_SECRET="):
                            line = 'JWT_SECRET="%s"' % secret
                        line = line.replace("/run/coursegen-status/fcgi.sock",
                                            STACK.service.sock)
                        line = line.replace("/run/coursegen-status", run)
                        lines.append(line)
                    with open(conf, "w") as f:
                        f.write("\n".join(lines) + "\n")
                continue
            c = cmd
            for a, b in subs:
                c = c.replace(a, b)
            done.append(cmd)
            if c.endswith(" &"):
                # The pool, as the unit starts it: in the foreground of its own process.
                with open(log_path, "ab") as log:
                    self.master = subprocess.Popen(
                        ["sh", "-c", "exec " + c[:-2]], env=env, cwd="/",
                        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                        start_new_session=True)
                self.assertTrue(wait_for(
                    lambda: os.path.exists(STACK.service.sock) and
                    os.path.exists(os.path.join(run, "coursegen-status.pid")), 20),
                                self.log(log_path))
                continue
            if c.startswith("TOKEN="):
                p = sh(c + '; printf %s "$TOKEN"',)
                self.assertEqual(p.returncode, 0, p.stderr)
                env["TOKEN"] = p.stdout
                self.assertEqual(p.stdout.count("."), 2, p.stdout)
                continue
            if c.startswith("kill -HUP"):
                before = self.log(log_path).count("configuration reloaded")
                p = sh(c)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(wait_for(lambda: self.log(log_path).count(
                    "configuration reloaded") > before, 20), self.log(log_path))
                # Still serving after the reload.
                p = sh(self.status_curl(cmds, subs))
                self.assertEqual(json.loads(p.stdout)["result"]["data"]["courseId"], COURSE)
                continue
            if c.startswith("kill -TERM"):
                p = sh(c)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(self.master.wait(timeout=30), 0, self.log(log_path))
                self.assertFalse(os.path.exists(STACK.service.sock))
                self.assertFalse(os.path.exists(os.path.join(run, "coursegen-status.pid")))
                continue
            env.update(JWT_SECRET=secret, USER_ID=OWNER, COURSE_ID=COURSE)
            p = sh(c)
            self.assertEqual(p.returncode, 0, (cmd, p.stdout, p.stderr))
            outputs[cmd] = p.stdout

        # Every step that matters ran, in the README's order.
        for want in ("install -m 0640", "--check-config", "TOKEN=", "/healthz", "/status",
                     "kill -HUP", "kill -TERM"):
            self.assertTrue(any(want in c for c in done), (want, done))
        self.assertEqual(os.stat(conf).st_mode & 0o777, 0o640)
        check = [o for c, o in outputs.items() if "--check-config" in c][0]
        self.assertIn("configuration ok", check)
        status = [o for c, o in outputs.items() if "/trpc/generation.getStatus" in c][0]
        self.assertEqual(json.loads(status)["result"]["data"]["courseId"], COURSE)
        health = [o for c, o in outputs.items() if "/healthz" in c][0]
        # sql/ as the README applies it includes the change notifications.
        self.assertEqual(json.loads(health), {"status": "ok", "cache": "exact"})
        page = [o for c, o in outputs.items() if c.endswith("/status")][0]
        self.assertIn("workers:         4 (busy 1, idle 3)", page)
        log = self.log(log_path)
        self.assertIn("with 4 workers as www-data", log)
        self.assertNotIn("readable by every user", log)
        self.assertEqual(len(not_run), 10, not_run)

    @staticmethod
    def status_curl(cmds, subs):
        c = [c for c in cmds if "/trpc/generation.getStatus" in c][0]
        for a, b in subs:
            c = c.replace(a, b)
        return c

    @staticmethod
    def log(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


if __name__ == "__main__":
    unittest.main()
