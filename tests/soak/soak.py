#!/usr/bin/env python3
"""soak.py: a steady mixed load against the real stack (scripts/localstack.py: throwaway
PostgreSQL, spawn-fcgi workers, nginx), bounded in time and in count, on 127.0.0.1 only.

    python3 tests/soak/soak.py [--seconds 180] [--requests N] [--threads 4] [--workers 2]
    python3 tests/soak/soak.py --valgrind [--requests 10000]

The mix (weights in MIX): valid single calls (GET and POST, owner and organization member),
invalid input, bad JSON, unauthorized (no token, bad token, expired), forbidden, not found,
batches (200 and 207), JSONL batches. Every answer is checked for the status its kind must
get; anything else counts as an error of that kind.

Reported: requests served, per kind and per status, errors by kind, latency percentiles,
each worker's RSS at start (after a warm-up) and at the end, sampled along the way.
Exit status 0 only when there was no error, no worker died (same pids at the end), and no
worker's RSS grew by more than --max-rss-growth-kb after the warm-up.

--valgrind runs the workers under `valgrind --leak-check=full` (COURSEGEN_WRAPPER), one
log per worker, stops them with SIGTERM (a clean exit, so the leak check runs) and reports
each worker's ERROR SUMMARY and leak figures; it fails on any error or on definitely or
indirectly lost bytes. --markdown FILE writes the figures as a Markdown section."""

import argparse
import glob
import http.client
import json
import os
import random
import re
import shlex
import signal
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
from localstack import Stack, input_query  # noqa: E402
from mint_token import mint, standard_claims  # noqa: E402

PROC = "generation.getStatus"
NS = uuid.UUID("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
OWNER = str(uuid.uuid5(NS, "owner"))
MEMBER = str(uuid.uuid5(NS, "member"))
OUTSIDER = str(uuid.uuid5(NS, "outsider"))
ORG = str(uuid.uuid5(NS, "org"))
COURSES = [str(uuid.uuid5(NS, "course/%d" % i)) for i in range(20)]
MISSING = str(uuid.uuid5(NS, "missing"))

MIX = [  # (kind, weight)
    ("valid_get", 30), ("valid_post", 8), ("member_get", 8), ("batch_ok", 8),
    ("batch_mixed", 5), ("jsonl", 4), ("invalid_input", 8), ("bad_json", 4),
    ("no_token", 5), ("bad_token", 5), ("expired_token", 3), ("forbidden", 5),
    ("not_found", 4),
]


def fixtures(stack):
    metas = [None, {"batch_count": 3, "total_batches": 8, "last_phase": "sections"},
             {"last_progress": 40, "error_message": "x", "retryable": True},
             {"model_used": {"sections": "m"}, "quality_scores": {"overall": 0.8}}]
    statuses = ["queued", "generating", "completed", "failed", None, "cancelled"]
    rows = []
    for i, c in enumerate(COURSES):
        m = metas[i % len(metas)]
        rows.append("('%s','%s','%s','soak',%s,%s,now() - interval '%d seconds')" % (
            c, OWNER, ORG, "NULL" if statuses[i % 6] is None else "'%s'" % statuses[i % 6],
            "NULL" if m is None else "'%s'::jsonb" % json.dumps(m), 30 + i))
    stack.psql("INSERT INTO courses (id,user_id,organization_id,title,generation_status,"
               "generation_metadata,created_at) VALUES %s;\n"
               "INSERT INTO user_organizations (user_id, organization_id) VALUES ('%s','%s');"
               % (",".join(rows), MEMBER, ORG))


class Load:
    def __init__(self, stack):
        self.stack = stack
        self.tokens = {u: stack.token(u, ttl=6 * 3600) for u in (OWNER, MEMBER, OUTSIDER)}
        self.expired = stack.token(OWNER, ttl=-3600)
        self.bad = stack.token(OWNER, secret="not-the-secret-0123456789")

    def build(self, kind, rnd):
        """(method, path, headers, body, expected statuses) for one request of `kind`."""
        base = self.stack.base + "/" + PROC
        c = rnd.choice(COURSES)
        auth = {"Authorization": "Bearer " + self.tokens[OWNER]}
        one = "?" + input_query({"courseId": c})
        if kind == "valid_get":
            return "GET", base + one, auth, None, {200}
        if kind == "valid_post":
            h = dict(auth, **{"Content-Type": "application/json"})
            return "POST", base, h, json.dumps({"courseId": c}).encode(), {200}
        if kind == "member_get":
            return "GET", base + one, {"Authorization": "Bearer " + self.tokens[MEMBER]}, \
                None, {200}
        if kind in ("batch_ok", "batch_mixed", "jsonl"):
            n = rnd.randint(2, 6)
            ids = [rnd.choice(COURSES) for _ in range(n)]
            if kind == "batch_mixed":
                ids[rnd.randrange(n)] = MISSING
            path = self.stack.base + "/" + ",".join([PROC] * n) + "?" + input_query(
                {str(i): {"courseId": x} for i, x in enumerate(ids)}, batch=True)
            h = dict(auth)
            if kind == "jsonl":
                h["trpc-accept"] = "application/jsonl"
            return "GET", path, h, None, {200} if kind != "batch_mixed" else {207}
        if kind == "invalid_input":
            return "GET", base + "?" + input_query({"courseId": "not-a-uuid-%d" % rnd.randint(0, 9)}), \
                auth, None, {400}
        if kind == "bad_json":
            return "GET", base + "?input=%7B%22courseId%22%3A", auth, None, {400}
        if kind == "no_token":
            return "GET", base + one, {}, None, {401}
        if kind == "bad_token":
            return "GET", base + one, {"Authorization": "Bearer " + self.bad}, None, {401}
        if kind == "expired_token":
            return "GET", base + one, {"Authorization": "Bearer " + self.expired}, None, {401}
        if kind == "forbidden":
            return "GET", base + one, {"Authorization": "Bearer " + self.tokens[OUTSIDER]}, \
                None, {403}
        if kind == "not_found":
            return "GET", base + "?" + input_query({"courseId": MISSING}), auth, None, {404}
        raise ValueError(kind)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


def run(args):
    wrapper_logs = None
    env = {"CACHE_TTL_MS": str(args.cache_ttl_ms)}
    saved_wrapper = os.environ.get("COURSEGEN_WRAPPER")
    tmp_vg = None
    if args.valgrind:
        import tempfile
        tmp_vg = tempfile.mkdtemp(prefix="coursegen-vg-")
        os.chmod(tmp_vg, 0o755)
        wrapper_logs = os.path.join(tmp_vg, "vg.%p.log")
        os.environ["COURSEGEN_WRAPPER"] = (
            "valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect "
            "--errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 "
            "--log-file=" + wrapper_logs)
    t_start = time.time()
    stack = Stack(workers=args.workers, env=env, sample=False)
    if saved_wrapper is None:
        os.environ.pop("COURSEGEN_WRAPPER", None)
    else:
        os.environ["COURSEGEN_WRAPPER"] = saved_wrapper
    report = {}
    try:
        fixtures(stack)
        load = Load(stack)
        pids = sorted(stack.service.alive_pids())
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        lock = threading.Lock()
        counts = {k: 0 for k in kinds}
        errors = {}
        statuses = {}
        lat = []
        stop = threading.Event()
        budget = [args.requests]

        def take():
            with lock:
                if budget[0] is not None:
                    if budget[0] <= 0:
                        return False
                    budget[0] -= 1
                return True

        def worker(seed):
            rnd = random.Random(seed)
            while not stop.is_set() and take():
                kind = rnd.choices(kinds, weights)[0]
                method, path, headers, body, want = load.build(kind, rnd)
                t0 = time.monotonic()
                err = None
                status = None
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
                    conn.request(method, path, body=body, headers=headers)
                    r = conn.getresponse()
                    data = r.read()
                    conn.close()
                    status = r.status
                    if status not in want:
                        err = "%s: status %d" % (kind, status)
                    elif kind == "jsonl":
                        lines = [json.loads(l) for l in data.decode().splitlines() if l]
                        if not lines:
                            err = "jsonl: empty"
                    else:
                        json.loads(data)
                except Exception as e:   # counted, never hidden
                    err = "%s: %s" % (kind, type(e).__name__)
                dt = time.monotonic() - t0
                with lock:
                    counts[kind] += 1
                    statuses[status] = statuses.get(status, 0) + 1
                    lat.append(dt)
                    if err:
                        errors[err] = errors.get(err, 0) + 1

        # warm-up: caches, connections, allocator pools
        warm = Load(stack)
        rnd = random.Random(1)
        for k in kinds * 10:
            m, p, h, b, _ = warm.build(k, rnd)
            stack.request(m, p, body=b, headers=h, timeout=60)
        rss_start = {p: rss_kb(p) for p in pids}
        samples = [(0.0, dict(rss_start))]
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        next_sample = 10.0
        while any(t.is_alive() for t in threads):
            elapsed = time.monotonic() - t0
            if args.seconds and elapsed >= args.seconds:
                stop.set()
            if elapsed >= next_sample:
                samples.append((elapsed, {p: rss_kb(p) for p in pids}))
                next_sample += max(10.0, (args.seconds or 600) / 12.0)
            time.sleep(0.2)
        for t in threads:
            t.join()
        duration = time.monotonic() - t0
        rss_end = {p: rss_kb(p) for p in pids}
        samples.append((duration, dict(rss_end)))
        alive = sorted(stack.service.alive_pids())
        served = sum(counts.values())
        report = dict(served=served, duration=duration, counts=counts, statuses=statuses,
                      errors=errors, pids=pids, alive=alive, rss_start=rss_start,
                      rss_end=rss_end, samples=samples,
                      p50=pct(lat, 50), p99=pct(lat, 99), pmax=max(lat) if lat else 0.0,
                      workers=args.workers, threads=args.threads,
                      cache_ttl_ms=args.cache_ttl_ms)
        if args.valgrind:
            # SIGTERM: the workers finish and exit normally, so valgrind checks for leaks
            for p in alive:
                try:
                    os.kill(p, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and any(os.path.exists("/proc/%d" % p) and
                                                      _running(p) for p in alive):
                time.sleep(0.2)
            report["valgrind"] = parse_valgrind(glob.glob(os.path.join(tmp_vg, "vg.*.log")),
                                                pids)
    finally:
        stack.close()
        if tmp_vg and not args.keep_logs:
            import shutil
            shutil.rmtree(tmp_vg, ignore_errors=True)
        elif tmp_vg:
            print("valgrind logs kept in %s" % tmp_vg)
    report["wall"] = time.time() - t_start
    return report


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def parse_valgrind(files, pids):
    out = {}
    for path in files:
        m = re.search(r"vg\.(\d+)\.log$", path)
        pid = int(m.group(1)) if m else None
        if pid not in pids:
            continue      # spawn-fcgi's own short-lived processes, if any
        with open(path, errors="replace") as f:
            text = f.read()
        def num(pattern):
            m = re.search(pattern, text)
            return int(m.group(1).replace(",", "")) if m else None
        out[pid] = dict(
            errors=num(r"ERROR SUMMARY: ([\d,]+) errors"),
            definitely=num(r"definitely lost: ([\d,]+) bytes"),
            indirectly=num(r"indirectly lost: ([\d,]+) bytes"),
            possibly=num(r"possibly lost: ([\d,]+) bytes"),
            reachable=num(r"still reachable: ([\d,]+) bytes"),
            all_freed="All heap blocks were freed" in text,
            complete="ERROR SUMMARY" in text,
            excerpt="\n".join(l for l in text.splitlines()
                              if re.search(r"Invalid|uninitialised|definitely lost in|"
                                           r"indirectly lost in|Mismatched|overlap", l))[:4000])
    return out


def verdict(report, args):
    problems = []
    if report["errors"]:
        problems.append("errors: %r" % report["errors"])
    if report["alive"] != report["pids"]:
        problems.append("workers changed: %r -> %r" % (report["pids"], report["alive"]))
    if not args.valgrind:
        for p in report["pids"]:
            a, b = report["rss_start"].get(p), report["rss_end"].get(p)
            if a is None or b is None:
                problems.append("no RSS for worker %d" % p)
            elif b - a > args.max_rss_growth_kb:
                problems.append("worker %d RSS grew %d kB" % (p, b - a))
    vg = report.get("valgrind")
    if args.valgrind:
        if len(vg or {}) != len(report["pids"]):
            problems.append("valgrind logs for %d of %d workers" % (len(vg or {}),
                                                                  len(report["pids"])))
        for p, v in (vg or {}).items():
            if not v["complete"]:
                problems.append("worker %d: valgrind log incomplete (no clean exit)" % p)
            if v["errors"]:
                problems.append("worker %d: %d valgrind errors" % (p, v["errors"]))
            if v["definitely"] or v["indirectly"]:
                problems.append("worker %d: leaked %s+%s bytes" % (p, v["definitely"],
                                                                    v["indirectly"]))
    if report["served"] < args.min_requests:
        problems.append("only %d requests served" % report["served"])
    return problems


def render(report, args, problems):
    L = []
    title = "valgrind run" if args.valgrind else "soak"
    L.append("### %s, %s" % (title, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    L.append("")
    L.append("%d workers, %d client threads, CACHE_TTL_MS=%d; %d requests in %.1f s "
             "(%.0f req/s); latency p50 %.1f ms, p99 %.1f ms, max %.1f ms." % (
                 report["workers"], report["threads"], report["cache_ttl_ms"],
                 report["served"], report["duration"],
                 report["served"] / report["duration"] if report["duration"] else 0,
                 report["p50"] * 1000, report["p99"] * 1000, report["pmax"] * 1000))
    L.append("")
    L.append("| kind | requests |")
    L.append("|---|---|")
    for k, n in sorted(report["counts"].items(), key=lambda kv: -kv[1]):
        L.append("| %s | %d |" % (k, n))
    L.append("")
    L.append("HTTP statuses: " + ", ".join("%s: %d" % (k, v) for k, v in
                                             sorted(report["statuses"].items(),
                                                    key=lambda kv: str(kv[0]))))
    L.append("")
    L.append("Errors by kind: " + (", ".join("%s: %d" % kv for kv in
                                             sorted(report["errors"].items()))
                                   if report["errors"] else "none"))
    L.append("")
    if not args.valgrind:
        L.append("| worker | RSS after warm-up (kB) | RSS at end (kB) | growth (kB) |")
        L.append("|---|---|---|---|")
        for p in report["pids"]:
            a, b = report["rss_start"].get(p), report["rss_end"].get(p)
            L.append("| %d | %s | %s | %s |" % (p, a, b, (b - a) if a and b else "?"))
        L.append("")
        L.append("RSS samples (s: kB per worker): " + "; ".join(
            "%.0f: %s" % (t, "/".join(str(s.get(p)) for p in report["pids"]))
            for t, s in report["samples"]))
        L.append("")
    else:
        L.append("| worker | valgrind errors | definitely lost | indirectly lost | "
                 "possibly lost | still reachable |")
        L.append("|---|---|---|---|---|---|")
        for p, v in sorted(report.get("valgrind", {}).items()):
            L.append("| %d | %s | %s | %s | %s | %s |" % (
                p, v["errors"], v["definitely"], v["indirectly"], v["possibly"],
                "0 (all freed)" if v["all_freed"] else v["reachable"]))
        L.append("")
    L.append("Result: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    L.append("")
    return "\n".join(L)


def main(argv):
    p = argparse.ArgumentParser(prog="soak.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=None,
                   help="run time (default 180, or unbounded by time with --valgrind)")
    p.add_argument("--requests", type=int, default=None,
                   help="stop after this many requests (default: 10000 with --valgrind)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cache-ttl-ms", type=int, default=1000)
    p.add_argument("--max-rss-growth-kb", type=int, default=2048)
    p.add_argument("--min-requests", type=int, default=1000)
    p.add_argument("--valgrind", action="store_true")
    p.add_argument("--keep-logs", action="store_true")
    p.add_argument("--markdown", help="write the report as Markdown to this file")
    args = p.parse_args(argv)
    if args.valgrind:
        if args.requests is None:
            args.requests = 10000
        if args.seconds is None:
            args.seconds = 1800.0      # a bound all the same
        args.min_requests = min(args.min_requests, args.requests)
    else:
        if args.seconds is None:
            args.seconds = 180.0
    if args.valgrind and args.requests < 10000:
        print("note: fewer than 10000 requests", file=sys.stderr)
    report = run(args)
    problems = verdict(report, args)
    if args.valgrind and report["served"] < args.requests:
        problems.append("served %d of %d requests" % (report["served"], args.requests))
    text = render(report, args, problems)
    print(text)
    if args.valgrind:
        for pid, v in sorted(report.get("valgrind", {}).items()):
            if v["excerpt"]:
                print("worker %d:\n%s" % (pid, v["excerpt"]))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
