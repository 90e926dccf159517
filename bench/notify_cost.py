#!/usr/bin/env python3
"""notify_cost.py: what the change-notification triggers (sql/006-notify.sql) cost
the writers.

    python3 bench/notify_cost.py [--duration 10] [--rounds 3] [--clients 2]

A throwaway cluster with sql/ applied and 1,000 generating courses; pgbench drives
the worker API (generation_progress on a random course, as the generation worker
calls it) and a plain bulk UPDATE of 500 rows, alternately with the triggers enabled
and disabled (ALTER TABLE ... DISABLE TRIGGER, by name), round after round, while
--listeners sessions LISTEN and drain (as the service's workers would). Prints the
calls per second of each and the ratio with/without.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO, "scripts"))
import localstack  # noqa: E402

TRIGGERS = [(t, "coursegen_notify_" + e) for t in ("courses", "user_organizations")
            for e in ("insert", "update", "delete", "truncate")]


def pgbench(pg, script, clients, duration):
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
         "-T", str(duration), "-f", script, "-h", pg.sockdir, "-p", str(pg.port),
         "-U", "postgres", pg.dbname], capture_output=True, text=True, check=True).stdout
    m = re.search(r"tps = ([\d.]+)", out)
    return float(m.group(1))


class Listener(threading.Thread):
    """A psql session that LISTENs and drains every 10 ms (as a worker does while
    serving), until stopped."""

    def __init__(self, pg):
        super().__init__(daemon=True)
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
             "-d", pg.dbname], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, text=True)
        self.proc.stdin.write("LISTEN coursegen_status;\n")
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.01):
            self.proc.stdin.write("SELECT 1;\n")   # psql reads what arrived
            self.proc.stdin.flush()

    def close(self):
        self.stop.set()
        self.join()
        self.proc.stdin.close()
        self.proc.wait(10)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--listeners", type=int, default=4)
    a = p.parse_args()
    localstack._exit_on_sigterm()
    root = tempfile.mkdtemp(prefix="coursegen-notify-")
    os.chmod(root, 0o755)
    pg = None
    listeners = []
    try:
        pg = localstack.Postgres(os.path.join(root, "pg")).start()
        pg.apply_sql_dir(localstack.SQL_DIR)
        if os.environ.get("NOTIFY_EXTRA_SQL"):
            pg.apply_sql_file(os.environ["NOTIFY_EXTRA_SQL"])
        schema = "coursegen." if pg.psql(
            "SELECT to_regproc('coursegen.generation_progress') IS NOT NULL").strip() == "t" \
            else ""
        pg.psql("INSERT INTO courses (id, user_id) SELECT ('00000000-0000-4000-8000-' || "
                "lpad(n::text, 12, '0'))::uuid, '00000000-0000-4000-a000-000000000001' "
                "FROM generate_series(1, 1000) n;"
                "SELECT %sgeneration_enqueue(id), %sgeneration_start(id, 8, 'm') "
                "FROM courses;" % (schema, schema))
        api = os.path.join(root, "api.sql")
        with open(api, "w") as f:
            f.write("\\set n random(1, 1000)\n"
                    "SELECT %sgeneration_progress(('00000000-0000-4000-8000-' || "
                    "lpad(:n::text, 12, '0'))::uuid, 'sections', 1, 'm', 100, 0.5);\n"
                    % schema)
        bulk = os.path.join(root, "bulk.sql")
        with open(bulk, "w") as f:
            f.write("\\set n random(0, 1)\n"
                    "UPDATE courses SET updated_at = now() WHERE id IN (SELECT id FROM "
                    "courses ORDER BY id LIMIT 500 OFFSET :n * 500);\n")
        listeners = [Listener(pg) for _ in range(a.listeners)]
        for t in listeners:
            t.start()
        res = {(w, on): [] for w in ("api", "bulk") for on in (True, False)}
        for _ in range(a.rounds):
            for on in (True, False):
                pg.psql(";".join("ALTER TABLE %s %s TRIGGER %s" % (
                    t, "ENABLE" if on else "DISABLE", n) for t, n in TRIGGERS))
                res[("api", on)].append(pgbench(pg, api, a.clients, a.duration))
                res[("bulk", on)].append(pgbench(pg, bulk, a.clients, a.duration))
        print("change-notification triggers: cost to writers (%d clients, %d listeners, "
              "%d rounds of %d s, medians)" % (a.clients, a.listeners, a.rounds, a.duration))
        for w, what in (("api", "worker API calls/s (generation_progress)"),
                        ("bulk", "bulk UPDATEs of 500 rows/s")):
            on, off = statistics.median(res[(w, True)]), statistics.median(res[(w, False)])
            print("  %-42s with %8.1f  without %8.1f  ratio %.3f" % (what, on, off, on / off))
        return 0
    finally:
        for t in listeners:
            t.close()
        if pg:
            pg.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
