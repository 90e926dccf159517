#!/usr/bin/env python3
"""driver.py: start the stacks the client tests run against, insert their fixtures,
run `node --test` on them, stop everything. Called by tests/run-clients.

    python3 driver.py --work DIR [--only plain|superjson] [--concurrency N] [FILE...]

DIR holds the installed test project (package.json, node_modules, lib/, test/, v10/);
FILEs are test files relative to it (default: every test/*.test.mjs).

Two stacks (scripts/localstack.py: throwaway PostgreSQL, spawn-fcgi workers, nginx with the
shipped config):
    plain      the default configuration (TRPC_TRANSFORMER removed from the environment)
    superjson  TRPC_TRANSFORMER=superjson
The node tests read everything from the JSON file named by CLIENT_TESTS_CONFIG: each
stack's URL, nginx access log, psql command line (superuser, over the cluster's unix
socket) and course ids, and the tokens of the users.

Exit status 0 only when node's test runner ran at least one test and every test
passed: a failure, a cancelled, skipped or todo test, or no test at all is 1.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import signal
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(HERE)
sys.path.insert(0, TESTS_DIR)                                           # e2e.common
sys.path.insert(0, os.path.join(os.path.dirname(TESTS_DIR), "scripts"))  # localstack
from localstack import Stack, SUPERUSER  # noqa: E402

PROC_BASE = "/trpc"

OWNER = "11111111-1111-4111-8111-111111111111"
MEMBER = "22222222-2222-4222-8222-222222222222"     # member of ORG
OUTSIDER = "33333333-3333-4333-8333-333333333333"   # in no organization
STRANGER = "55555555-5555-4555-8555-555555555555"   # owns the foreign course
ORG = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
OTHER_ORG = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

_NS = uuid.UUID("0c1e4d7a-3b8f-4f2e-9a61-7d2c5e8b9f10")

# The contract's examples (section 5), as generation_metadata rows.
from e2e.common import DONE_META, FAIL_META, GEN_META  # noqa: E402



def cid(name):
    return str(uuid.uuid5(_NS, name))


def lit(v):
    if v is None:
        return "NULL"
    return "'" + str(v).replace("'", "''") + "'"


def jsonb(v):
    return "NULL" if v is None else lit(json.dumps(v, ensure_ascii=False)) + "::jsonb"


def course_row(id, owner, org, status, meta, created, updated):
    return "(%s,%s,%s,%s,%s,%s,%s,%s)" % (lit(id), lit(owner), lit(org), lit("clients " + id),
                                          lit(status), jsonb(meta), created, updated)


def insert_fixtures(stack):
    """Users, memberships and courses; returns the course ids and the database time
    (epoch ms) the generating course was inserted at (its created_at is 75 s before)."""
    courses = {
        "generating": cid("generating"),
        "completed": cid("completed"),
        "failed": cid("failed"),
        "foreign": cid("foreign"),
        "missing": cid("missing (never inserted)"),
        "pollCompleted": cid("poll-completed"),
        "pollFailed": cid("poll-failed"),
    }
    t0 = "'2025-11-05T12:00:00Z'::timestamptz"
    stack.psql(
        "INSERT INTO user_organizations (user_id, organization_id, role) VALUES "
        "(%s,%s,'member'),(%s,%s,'member') ON CONFLICT DO NOTHING;" % (
            lit(MEMBER), lit(ORG), lit(STRANGER), lit(OTHER_ORG)))
    rows = [
        course_row(courses["completed"], OWNER, ORG, "completed", DONE_META, t0,
                   "'2025-11-05T12:02:30Z'::timestamptz"),
        course_row(courses["failed"], OWNER, ORG, "failed", FAIL_META, t0,
                   "'2025-11-05T12:01:45Z'::timestamptz"),
        course_row(courses["foreign"], STRANGER, OTHER_ORG, "generating", GEN_META, t0, t0),
        course_row(courses["pollCompleted"], OWNER, ORG, "queued", None, "now()", "now()"),
        course_row(courses["pollFailed"], OWNER, ORG, "queued", None, "now()", "now()"),
    ]
    cols = ("INSERT INTO courses (id,user_id,organization_id,title,generation_status,"
            "generation_metadata,created_at,updated_at) VALUES ")
    stack.psql(cols + ",\n".join(rows) + ";")
    out = stack.psql(cols + course_row(courses["generating"], OWNER, ORG, "generating", GEN_META,
                                       "now() - interval '75 seconds'", "now()") +
                     " RETURNING (extract(epoch FROM updated_at) * 1000)::bigint;")
    inserted_at = int(out.strip().splitlines()[-1])
    return courses, inserted_at


def stack_config(name, stack):
    courses, inserted_at = insert_fixtures(stack)
    pg = stack.pg
    return {
        "name": name,
        "transformer": "superjson" if name == "superjson" else None,
        "url": stack.url + PROC_BASE,
        "basePath": PROC_BASE,
        "accessLog": stack.nginx.access_log,
        "psql": ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", pg.sockdir,
                 "-p", str(pg.port), "-U", SUPERUSER, "-d", pg.dbname],
        "courses": courses,
        "insertedAt": inserted_at,
        "maxBatch": 32,
    }


def tap_summary(path):
    """The counters of node's TAP reporter summary (# tests N, # pass N, ...)."""
    counts = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)\s*$", line)
                if m:
                    counts[m.group(1)] = int(m.group(2))
    except OSError:
        pass
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="installed test project")
    ap.add_argument("--only", choices=["plain", "superjson"], help="one stack only")
    ap.add_argument("--concurrency", type=int, default=4, help="test files run at once")
    ap.add_argument("--workers", type=int, default=2, help="service workers per stack")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    files = args.files or sorted(os.path.relpath(f, work)
                                 for f in glob.glob(os.path.join(work, "test", "*.test.mjs")))
    if not files:
        print("driver: no test files in %s/test" % work, file=sys.stderr)
        return 1

    # SIGTERM/SIGHUP (make interrupted, a CI timeout) end in the finally below, which
    # stops node and the stacks.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    names = [args.only] if args.only else ["plain", "superjson"]
    tmp = tempfile.mkdtemp(prefix="coursegen-clients-")
    stacks = {}
    proc = None
    try:
        t = time.monotonic()
        # Both stacks start side by side (initdb is most of the time).
        errors = []

        def start(name):
            env = {"TRPC_TRANSFORMER": "superjson" if name == "superjson" else None}
            try:
                stacks[name] = Stack(workers=args.workers, env=env, sample=False)
            except BaseException as e:  # reported below, after every start has ended
                errors.append("%s: %s" % (name, e))

        threads = [threading.Thread(target=start, args=(n,)) for n in names]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            print("driver: FAIL: a stack did not start: %s" % "; ".join(errors), file=sys.stderr)
            return 1
        any_stack = stacks[names[0]]
        users = {
            "owner": OWNER, "member": MEMBER, "outsider": OUTSIDER,
            "ownerToken": any_stack.token(OWNER),
            "memberToken": any_stack.token(MEMBER),
            "outsiderToken": any_stack.token(OUTSIDER),
            "wrongSecretToken": any_stack.token(OWNER, secret="not-the-secret-0123456789abcdef"),
            "expiredToken": any_stack.token(OWNER, ttl=-3600),
        }
        config = {"base": PROC_BASE, "users": users,
                  "stacks": [stack_config(n, stacks[n]) for n in names]}
        print("driver: %s started in %.1f s: %s" % (
            ", ".join(names), time.monotonic() - t,
            ", ".join("%s %s" % (s["name"], s["url"]) for s in config["stacks"])), flush=True)
        cfg_path = os.path.join(tmp, "config.json")
        with open(cfg_path, "w") as f:
            json.dump(config, f, indent=1)
        tap = os.path.join(tmp, "report.tap")
        cmd = ["node", "--test", "--test-concurrency=%d" % args.concurrency,
               "--test-timeout=120000",
               "--test-reporter=spec", "--test-reporter-destination=stdout",
               "--test-reporter=tap", "--test-reporter-destination=" + tap] + files
        env = dict(os.environ, CLIENT_TESTS_CONFIG=cfg_path, NODE_ENV="test")
        t = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL)
        try:
            rc = proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            print("driver: node --test still running after 600 s: killed", file=sys.stderr)
            rc = -1
        proc = None
        elapsed = time.monotonic() - t
        counts = tap_summary(tap)
        problems = []
        if rc != 0:
            problems.append("node --test exited with %s" % rc)
        if counts.get("tests", 0) == 0:
            problems.append("no tests ran")
        for k in ("fail", "cancelled", "skipped", "todo"):
            if counts.get(k, 0):
                problems.append("%d %s" % (counts[k], k))
        if counts.get("pass", 0) != counts.get("tests", 0):
            problems.append("%d of %d tests passed" % (counts.get("pass", 0),
                                                         counts.get("tests", 0)))
        if problems:
            for name, st in stacks.items():
                log = st.service_log().strip().splitlines()
                print("--- %s: last lines of the service log ---" % name, file=sys.stderr)
                print("\n".join(log[-15:]), file=sys.stderr)
            print("driver: FAIL: %s" % "; ".join(problems), file=sys.stderr)
            print("%d passed, %d failed" % (counts.get("pass", 0),
                                            counts.get("tests", 0) - counts.get("pass", 0)))
            return 1
        print("driver: node tests took %.1f s" % elapsed)
        print("%d passed, 0 failed" % counts["pass"])
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for st in stacks.values():
            try:
                st.close()
            except Exception as e:
                print("driver: stopping a stack: %s" % e, file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
