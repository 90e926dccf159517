#!/usr/bin/env python3
"""replica.py: reads from a streaming standby, and carrying on through the primary.

    python3 bench/replica.py [--courses 10000] [--workers 4] [--conns 64]

On loopback only: a primary (bench/gen-data.sql applied), a standby made from it with
pg_basebackup (streaming replication, hot standby), the service under nginx with
    DATABASE_URL=postgresql://coursegen_status:PW@127.0.0.1:STANDBY,127.0.0.1:PRIMARY/coursegen
                 ?target_session_attrs=prefer-standby
Then:
  1. 200 requests: every answer 200, and the workers' connections are on the standby
     (pg_stat_activity of each server, by application_name);
  2. wrk (random authorized pairs, uncached) for --seconds; the standby is stopped
     (fast shutdown: its backends are terminated) a third of the way in;
  3. requests/s before/after, errors over the whole run, and where the connections are
     now (the primary);
  4. 200 more requests: every answer 200.
The status cache is on: on the standby the workers report the TTL mode (/healthz
"cache":"ttl", no LISTEN there), back on the primary the exact mode (checked with 20
health requests each time, which reach every worker).
Exits 1 if a check fails.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import bench  # noqa: E402
from bench import (BenchPostgres, Data, FcgiStack, localstack, http_get, pair_path,  # noqa: E402
                   parse_wrk, run_wrk)

APP = "bench-replica"


class Standby(BenchPostgres):
    """A cluster made by pg_basebackup from `primary`; hot standby."""

    def _pm_status(self):
        s = super()._pm_status()
        return "ready" if s == "standby" else s

    def create_from(self, primary):
        os.makedirs(self.root, exist_ok=True)
        if self.os_user:
            import pwd
            pw = pwd.getpwnam(self.os_user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        p = localstack._run_group([os.path.join(self.bindir, "pg_basebackup"), "-h",
                                primary.sockdir, "-p", str(primary.port), "-U", "postgres",
                                "-D", self.data, "-X", "stream", "--no-sync"], 300,
                               self.os_user)
        if p.returncode != 0:
            raise localstack.HarnessError("pg_basebackup failed: %s" % p.stderr)
        os.makedirs(self.sockdir, mode=0o700, exist_ok=True)
        if self.os_user:
            import pwd
            pw = pwd.getpwnam(self.os_user)
            os.chown(self.sockdir, pw.pw_uid, pw.pw_gid)
        self._write_conf()
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("primary_conninfo = 'host=%s port=%d user=postgres application_name=standby'\n"
                    % (primary.sockdir, primary.port))
        open(os.path.join(self.data, "standby.signal"), "w").close()
        self.passwords = dict(primary.passwords)
        return self.start()


def where(pg):
    if not pg.running:
        return 0
    return int(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'"
                       % APP).strip())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--courses", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=15)
    a = ap.parse_args(argv)
    localstack._exit_on_sigterm()
    root = tempfile.mkdtemp(prefix="coursegen-replica-")
    os.chmod(root, 0o755)
    primary = standby = stack = None
    ok = True
    try:
        primary = BenchPostgres(os.path.join(root, "primary")).start()
        with open(os.path.join(primary.data, "pg_hba.conf"), "a") as f:
            f.write("local replication postgres trust\n")
        primary.psql("SELECT pg_reload_conf()")
        primary.apply_sql_dir(localstack.SQL_DIR)
        pw = primary.set_password(localstack.SERVICE_ROLE)
        data = Data(primary, a.courses, 10000, 1000, root)
        standby = Standby(os.path.join(root, "standby")).create_from(primary)
        rec = standby.psql("SELECT pg_is_in_recovery()").strip()
        lag_deadline = time.monotonic() + 30
        while standby.psql("SELECT count(*) FROM courses").strip() != str(a.courses):
            if time.monotonic() > lag_deadline:
                raise SystemExit("standby did not catch up")
            time.sleep(0.2)
        bench.log("standby up (in recovery: %s), replicating from the primary" % rec)
        dsn = ("postgresql://%s:%s@127.0.0.1:%d,127.0.0.1:%d/%s?target_session_attrs="
               "prefer-standby&application_name=%s" % (localstack.SERVICE_ROLE, pw, standby.port,
                                                       primary.port, primary.dbname, APP))
        stack = FcgiStack("service-replica", os.path.join(root, "svc"),
                          os.path.join(bench.REPO, "src", "coursegen-status"),
                          {"DATABASE_URL": dsn, "JWT_SECRET": bench.SECRET,
                           "LOG_LEVEL": "warn"}, a.workers)

        def modes():
            seen = set()
            for _ in range(20):
                st, body = http_get(stack.url, "/healthz", "")
                seen.add(json.loads(body).get("cache") if st == 200 else st)
            return seen

        def burst(n):
            bad = 0
            for c, u in data.misses[:n]:
                st, _ = http_get(stack.url, pair_path(c), data.token(u))
                bad += st != 200
            return bad
        bad = burst(200)
        on_s, on_p = where(standby), where(primary)
        print("1. 200 requests: %d not 200; service connections: standby %d, primary %d"
              % (bad, on_s, on_p))
        ok &= bad == 0 and on_s == a.workers and on_p == 0
        m = modes()
        print("   cache modes reported on the standby: %s" % sorted(m, key=str))
        ok &= m == {"ttl"}
        wrk = run_wrk(stack.url, data.files["misses"], a.conns, a.seconds)
        t_stop = a.seconds / 3.0
        time.sleep(t_stop)
        t0 = time.monotonic()
        standby.stop("fast")
        bench.log("standby stopped after %.1f s of load (%.2f s to stop)"
                  % (t_stop, time.monotonic() - t0))
        out, err = wrk.communicate(timeout=a.seconds + 60)
        r = parse_wrk(out, err)
        on_p = where(primary)
        print("2. wrk %d conns, %d s, standby stopped at %.0f s: %.0f req/s overall, "
              "p99 %.2f ms, non-2xx %d, socket errors %d; service connections now on the "
              "primary: %d" % (a.conns, a.seconds, t_stop, r["rps"], r["p99_us"] / 1000,
                               r["non2xx"], r["sockerr"], on_p))
        ok &= on_p == a.workers
        log = "\n".join(stack.services[0].log_text().splitlines()[-5:])
        print("   service log (last lines):\n   " + log.replace("\n", "\n   "))
        bad = burst(200)
        print("3. 200 more requests: %d not 200" % bad)
        ok &= bad == 0
        m = modes()
        print("   cache modes reported on the primary: %s" % sorted(m, key=str))
        ok &= m == {"exact"}
        errors = r["non2xx"] + r["sockerr"]
        print("RESULT: %s (errors during the switch: %d of %d requests)" % (
            "ok" if ok else "FAILED", errors, r["requests"]))
        return 0 if ok else 1
    finally:
        for part in (stack, standby, primary):
            if part is not None:
                try:
                    (part.stop if hasattr(part, "nginx") else part.close)()
                except Exception as e:
                    bench.log("stop: %s" % e)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
