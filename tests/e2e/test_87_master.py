"""The process master under load (issue 3): crashes, recycling, SIGTERM, SIGHUP,
kill -9, the crash-loop brake, privileges and the settings file.

Each test runs a standalone pool (coursegen-status --listen) behind the shipped nginx
config and drives it with a few client threads while it does something to the
processes. nginx's error log tells a request cut off by a dying worker ("upstream
prematurely closed", "reset by peer") from one that found nobody listening.
"""

import os
import signal
import subprocess
import threading
import time
import unittest

from e2e.common import (OWNER, bearer, cid, insert_courses, request, start_stack,
                        stop_stack, target, token)
from apache import Pool, binary

STACK = None
COURSE = cid("master-course")
CUT_OFF = ("prematurely closed", "reset by peer", "broken pipe")


def setUpModule():
    global STACK
    STACK = start_stack(workers=1)
    insert_courses(STACK, [dict(id=COURSE, gen_status="completed",
                                meta={"total_lessons": 3})])
    STACK.service.stop()


def tearDownModule():
    if STACK is not None:
        stop_stack(STACK)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(cond, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Load:
    """Client threads polling the course through nginx until stopped."""

    def __init__(self, threads=4, limit=None):
        self.tgt = target(STACK, input={"courseId": COURSE})
        self.hdr = bearer(token(STACK, OWNER))
        self.codes = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.limit = limit
        self.done = 0
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(threads)]

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                if self.limit is not None and self.done >= self.limit:
                    return
                self.done += 1
            try:
                st = request(STACK, "GET", self.tgt, headers=self.hdr, timeout=15).status
            except OSError as e:
                st = type(e).__name__
            with self.lock:
                self.codes[st] = self.codes.get(st, 0) + 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def wait(self, timeout=60):
        for t in self.threads:
            t.join(timeout=timeout)

    def served(self):
        return self.codes.get(200, 0)

    def failed(self):
        return sum(n for k, n in self.codes.items() if k != 200)


class MasterTest(unittest.TestCase):

    def setUp(self):
        self.nginx_log_start = len(STACK.nginx_log())
        self.pool = None

    def tearDown(self):
        if self.pool is not None:
            self.pool.close()

    def start_pool(self, workers=2, env=None, args=()):
        e = STACK._service_env()
        e.update(env or {})
        self.pool = Pool(os.path.join(STACK.root, "pool-" + self.id().split(".")[-1]),
                         STACK.service.sock, e, workers=workers, args=args).start()
        return self.pool

    def cut_off(self):
        """nginx error-log lines since setUp that say a request was cut off."""
        new = STACK.nginx_log()[self.nginx_log_start:]
        return [l for l in new.splitlines() if any(c in l for c in CUT_OFF)]

    def test_crashed_worker_is_replaced(self):
        # Under AddressSanitizer a SIGSEGV is ASan's to report (then abort);
        # this test wants the plain crash, so ASan leaves SIGSEGV alone.
        asan = os.environ.get("ASAN_OPTIONS", "")
        pool = self.start_pool(workers=3, env={
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "handle_segv=0"})
        before = pool.worker_pids()
        with Load() as load:
            wait_for(lambda: load.served() > 50)
            os.kill(before[0], signal.SIGSEGV)
            self.assertTrue(wait_for(lambda: len(pool.worker_pids()) == 3 and
                                     before[0] not in pool.worker_pids()))
            served = load.served()
            wait_for(lambda: load.served() > served + 50)
        # At most the request the dead worker held failed.
        self.assertLessEqual(load.failed(), 1, load.codes)
        self.assertGreater(load.served(), 100, load.codes)
        self.assertIn("worker %d killed by signal 11" % before[0], pool.log_text())
        self.assertTrue(set(before[1:]) <= set(pool.worker_pids()))

    def test_sigterm_drains_without_cutting_requests(self):
        pool = self.start_pool(workers=2)
        kids = pool.worker_pids()
        with Load() as load:
            wait_for(lambda: load.served() > 50)
            pool.proc.send_signal(signal.SIGTERM)
            self.assertEqual(pool.proc.wait(timeout=20), 0)
        for pid in kids:
            self.assertFalse(alive(pid), "worker %d outlived the master" % pid)
        # Requests after the stop find no listener (nginx's 502 page); none was cut
        # off half-way.
        self.assertEqual(self.cut_off(), [])
        self.assertEqual(set(load.codes) - {200, 502}, set(), load.codes)
        self.assertIn("stopped", pool.log_text())
        self.assertFalse(os.path.exists(STACK.service.sock))

    def test_sighup_replaces_workers_without_failures(self):
        pool = self.start_pool(workers=2)
        old = set(pool.worker_pids())
        with Load() as load:
            wait_for(lambda: load.served() > 50)
            pool.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: not (old & set(pool.worker_pids())) and
                                     len(pool.worker_pids()) == 2))
            served = load.served()
            wait_for(lambda: load.served() > served + 50)
        self.assertEqual(load.failed(), 0, load.codes)
        self.assertIn("configuration reloaded", pool.log_text())

    def test_bad_reload_keeps_workers(self):
        conf = os.path.join(STACK.root, "reload.conf")
        with open(conf, "w") as f:
            f.write("CACHE_TTL_MS=500\n")
        pool = self.start_pool(workers=2, args=("-c", conf))
        old = set(pool.worker_pids())
        with open(conf, "w") as f:
            f.write("CACHE_TTL_MS=not-a-number\n")
        pool.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "keeping the current workers" in pool.log_text()))
        self.assertEqual(set(pool.worker_pids()), old)
        self.assertIn("CACHE_TTL_MS must be an integer", pool.log_text())
        r = request(STACK, "GET", target(STACK, input={"courseId": COURSE}),
                    headers=bearer(token(STACK, OWNER)))
        self.assertEqual(r.status, 200)

    def test_kill_9_master_leaves_no_worker(self):
        pool = self.start_pool(workers=3)
        kids = pool.worker_pids()
        with Load(threads=2):
            time.sleep(0.3)
            pool.proc.kill()
            pool.proc.wait()
            self.assertTrue(wait_for(lambda: not any(alive(p) for p in kids), 5),
                            [p for p in kids if alive(p)])

    def test_max_requests_recycles_under_load(self):
        pool = self.start_pool(workers=2, env={"MAX_REQUESTS": "25"})
        seen = set(pool.worker_pids())
        with Load(threads=4, limit=400) as load:
            while any(t.is_alive() for t in load.threads):
                seen |= set(pool.worker_pids())
                time.sleep(0.02)
        self.assertEqual(load.served(), 400, load.codes)
        self.assertEqual(load.failed(), 0, load.codes)
        # 400 requests at 25 per worker: at least 16 workers came and went.
        self.assertGreaterEqual(len(seen), 10, seen)
        self.assertNotIn("killed by signal", pool.log_text())

    def test_crash_loop_brake(self):
        pool = self.start_pool(workers=2)
        killed = 0
        deadline = time.monotonic() + 8
        while killed < 12 and time.monotonic() < deadline:
            for pid in pool.worker_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        self.assertTrue(wait_for(lambda: "crash loop" in pool.log_text(), 5),
                        pool.log_text())
        # The brake holds: no worker for a while, then the pool is refilled.
        time.sleep(0.5)
        self.assertEqual(pool.worker_pids(), [])
        self.assertTrue(wait_for(lambda: len(pool.worker_pids()) == 2, 15))

    def test_privileges(self):
        if os.geteuid() != 0:
            # Not root: RUN_AS_USER cannot apply and is said to be ignored.
            pool = self.start_pool(workers=1, env={"RUN_AS_USER": "nobody"})
            self.assertIn("RUN_AS_USER ignored", pool.log_text())
            return
        pool = self.start_pool(workers=2, env={"RUN_AS_USER": "nobody"})
        for pid in pool.worker_pids():
            with open("/proc/%d/status" % pid) as f:
                ids = {l.split(":")[0]: l.split()[1:] for l in f if l[:4] in ("Uid:", "Gid:")}
            nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True,
                                    text=True).stdout.strip()
            self.assertEqual(set(ids["Uid"]), {nobody}, ids)
        pool.close()
        self.pool = None
        # Root without RUN_AS_USER: refused, with the reason.
        env = dict(os.environ, **STACK._service_env())
        env.pop("RUN_AS_USER", None)
        p = subprocess.run([binary(), "--listen", "unix:" + STACK.service.sock],
                           env=env, capture_output=True, text=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("set RUN_AS_USER", p.stderr)

    def test_settings_file_and_environment(self):
        conf = os.path.join(STACK.root, "settings.conf")
        env = STACK._service_env()
        with open(conf, "w") as f:
            f.write("# settings\nDATABASE_URL = %s\nJWT_SECRET=%s\nMAX_BATCH=1\n"
                    "TRPC_BASE=/elsewhere\n" % (env["DATABASE_URL"], env["JWT_SECRET"]))
        e = dict(os.environ)
        for k in ("DATABASE_URL", "JWT_SECRET", "MAX_BATCH", "TRPC_BASE"):
            e.pop(k, None)
        p = subprocess.run([binary(), "-c", conf, "--check-config"], env=e,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        # The file applies (MAX_BATCH=1), the environment wins (TRPC_BASE).
        cgi = dict(e, COURSEGEN_CONFIG=conf, TRPC_BASE="/trpc", REQUEST_METHOD="GET",
                   SCRIPT_NAME="/trpc/generation.getStatus,generation.getStatus",
                   QUERY_STRING="batch=1")
        out = subprocess.run([binary(), "--cgi"], env=cgi, capture_output=True,
                             timeout=30, stdin=subprocess.DEVNULL).stdout
        self.assertIn(b"Batch call exceeds maximum size", out)
        with open(conf, "a") as f:
            f.write("this line is wrong\n")
        p = subprocess.run([binary(), "-c", conf, "--check-config"], env=e,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("settings.conf:6: expected NAME=value", p.stderr)


if __name__ == "__main__":
    unittest.main()
