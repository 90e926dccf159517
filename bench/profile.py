#!/usr/bin/env python3
"""profile.py: where the instructions of one request go (callgrind), end to end.

    python3 bench/profile.py [--requests 3000] [--courses 10000] [--hits] [--out DIR]

Builds the benchmark's database (bench/gen-data.sql) in a throwaway cluster, starts ONE
FastCGI worker of src/coursegen-status under `valgrind --tool=callgrind` behind the
shipped nginx config, sends --requests sequential authorized requests for random
courses (CACHE_TTL_MS=0 so each reaches the database, unless --hits: one hot course
and one token, default cache) with the tokens of 300 users whose tokens the worker has
verified once already, as when clients poll (--cold-tokens: a new token almost every
time), stops the worker (SIGTERM: it finishes and callgrind
writes its file), and prints:
  - instructions per request, in total and inclusive for the service's steps
    (accept + FastCGI input, tRPC parsing, JWT, input, database, state + render,
    serialization, FastCGI output);
  - self instructions per request grouped by shared object (libc, libpq, libcrypto,
    libjwt, json-c, libfcgi, the binary) and the top functions.
The first 50 requests (connection, SCRAM authentication, PREPARE) are sent before
the counters are zeroed (callgrind_control -z): the figures are the steady state of a
long-lived worker.
"""

import argparse
import collections
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import bench  # noqa: E402
from bench import BenchNginx, BenchPostgres, Data, localstack, http_get, pair_path  # noqa: E402

# Inclusive cost of these functions, per request (whichever exist in the binary).
STEPS = [
    ("fcgi_run", "the whole request loop (everything below)"),
    ("FCGX_Accept_r", "FastCGI accept + reading params/stdin"),
    ("service_handle", "the service: everything between input and output"),
    ("auth_verify_cached", "JWT: token cache lookup + verification"),
    ("auth_verify", "JWT verification (libjwt + OpenSSL HMAC + claims)"),
    ("jwt_decode", "  libjwt: decode (base64, JSON parse, HMAC)"),
    ("trpc_handle", "tRPC layer (includes the procedure: auth, db, render)"),
    ("ratelimit_key", "rate limiter: the client's key (seeded hash)"),
    ("ratelimit_take", "rate limiter: its bucket (one compare-and-swap)"),
    ("db_fetch", "database: query round trip (libpq) and row"),
    ("PQexecPrepared", "  libpq: send + wait + read result (prepared)"),
    ("PQexecParams", "  libpq: send + wait + read result (unnamed)"),
    ("db_connect", "  connect + SET + PREPARE (first request only)"),
    ("meta_read", "metadata JSON parse (json-c)"),
    ("gen_state_compute", "state machine, progress, ETA"),
    ("render_status", "output JSON writer"),
    ("http_resp_serialize", "HTTP response serialization"),
    ("FCGX_PutStr", "FastCGI output write"),
    ("FCGX_Finish_r", "FastCGI finish: flush + close"),
]


def parse_callgrind(path):
    """Self cost per (object, function) and inclusive cost per function name, from a
    callgrind out file (name compression handled)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost = collections.Counter()
    incl = collections.Counter()
    cur = {"ob": None, "fl": None, "fn": None}
    cfn = None
    pending_call = False
    total = 0
    rx = re.compile(r"^(c?)(ob|fl|fi|fe|fn)=\((\d+)\)(?: (.*))?$")

    def resolve(kind, idx, name):
        table = names["fl" if kind in ("fi", "fe") else kind]
        if name is not None:
            table[idx] = name
        return table.get(idx, "?")
    calls_ob = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = rx.match(line)
            if m:
                c, kind, idx, name = m.groups()
                val = resolve(kind, idx, name)
                if c:
                    if kind == "fn":
                        cfn = val
                    elif kind == "ob":
                        calls_ob = val
                else:
                    if kind in ("fi", "fe"):
                        continue
                    cur[kind] = val
                    if kind == "fn":
                        calls_ob = None
                continue
            if line.startswith("calls="):
                pending_call = True
                continue
            if line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                if len(parts) < 2:
                    continue
                try:
                    cost = int(parts[1])
                except ValueError:
                    continue
                if pending_call:
                    # inclusive cost of the callee, seen from the caller: count it for
                    # the caller's inclusive total (callee self is counted on its own)
                    if cfn != cur["fn"]:
                        incl[cur["fn"]] += cost
                    pending_call = False
                else:
                    self_cost[(cur["ob"], cur["fn"])] += cost
                    incl[cur["fn"]] += cost
                    total += cost
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return self_cost, incl, total


def short_ob(ob):
    b = os.path.basename(ob or "?")
    for key, label in (("libc.so", "libc"), ("libpq", "libpq"), ("libcrypto", "libcrypto (OpenSSL)"),
                       ("libssl", "libssl"), ("libjwt", "libjwt"), ("libjson-c", "json-c"),
                       ("libjansson", "jansson (libjwt's JSON)"), ("libfcgi", "libfcgi"),
                       ("ld-linux", "ld.so"), ("coursegen-status", "coursegen-status"),
                       ("libgnutls", "gnutls"), ("libm.so", "libm")):
        if key in b:
            return label
    return b


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--courses", type=int, default=10000)
    p.add_argument("--hits", action="store_true")
    p.add_argument("--cold-tokens", action="store_true",
                   help="a token the worker has not verified yet for every request "
                        "(default: tokens of --token-users users, each already seen once)")
    p.add_argument("--token-users", type=int, default=300)
    p.add_argument("--out", help="keep the callgrind file here")
    p.add_argument("--env", action="append", default=[], help="extra service VAR=value")
    p.add_argument("--fixed", action="store_true",
                   help="profile the transport ceiling (bench/fixed-responder, a fixed "
                        "body) instead of the service, for the same requests")
    p.add_argument("--strace", action="store_true",
                   help="count the worker's system calls (strace -c) instead of its "
                        "instructions")
    a = p.parse_args(argv)
    if not shutil.which("valgrind"):
        raise SystemExit("profile: valgrind not installed")
    localstack._exit_on_sigterm()
    root = tempfile.mkdtemp(prefix="coursegen-prof-")
    os.chmod(root, 0o755)
    pg = svc = ngx = None
    outfile = os.path.join(root, "callgrind.out")
    try:
        pg = BenchPostgres(os.path.join(root, "pg")).start()
        pg.apply_sql_dir(localstack.SQL_DIR)
        pg.set_password(localstack.SERVICE_ROLE)
        data = Data(pg, a.courses, 10000, 1000, root)
        env = {"DATABASE_URL": pg.dsn_for(localstack.SERVICE_ROLE, host="unix"), "JWT_SECRET": bench.SECRET, "LOG_LEVEL": "warn",
               "CACHE_TTL_MS": "1000" if a.hits else "0",
               # A few users asking far faster than any front end would be answered
               # 429 by the rate limiter, which is not the path profiled here (its
               # cost: the service-nolimit stack of bench.py). --env RATE_LIMIT=20
               # profiles it anyway.
               "RATE_LIMIT": "0"}
        for kv in a.env:
            k, v = kv.split("=", 1)
            env[k] = v
        binary = None
        if a.fixed:
            binary = os.path.join(BENCH_DIR, "fixed-responder")
            body = os.path.join(root, "body.json")
            with open(body, "wb") as f:
                f.write(b'{"result":{"data":{"json":' + b"x" * 700 + b'}}}')
            env["FIXED_BODY_FILE"] = body
        if a.strace:
            wrapper = ["strace", "-c", "-o", outfile + ".strace"]
        else:
            wrapper = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile]
        svc = localstack.Service(os.path.join(root, "svc"), env, workers=1,
                              binary=binary, wrapper=wrapper,
                              sock=os.path.join(root, "svc", "fcgi.sock"),
                              # one process on fd 0 that is itself the worker (under
                              # the pool, callgrind would see only the master)
                              mode="spawn-fcgi").start()
        ngx = BenchNginx(os.path.join(root, "nginx"), [svc.sock], workers=1).start()
        url = "http://127.0.0.1:%d" % ngx.port
        rnd = random.Random(1)
        if a.hits:
            pairs = data.hits[:1] * a.requests
        elif a.cold_tokens:
            pairs = [rnd.choice(data.misses) for _ in range(a.requests)]
        else:
            # Clients poll with the same token every 2 s: draw from the pairs of a few
            # hundred users, each of whom has been seen once before the counters start.
            users = sorted({u for _, u in data.misses})[:a.token_users]
            keep = set(users)
            sample = [p for p in data.misses if p[1] in keep]
            pairs = [rnd.choice(sample) for _ in range(a.requests)]
            for u in users:
                c = next(c for c, uu in sample if uu == u)
                http_get(url, pair_path(c), data.token(u))
        # Warm up (connection, SCRAM authentication, PREPARE, first allocations), then
        # zero the counters: what follows is the steady state of a long-lived worker.
        for c, u in pairs[:50]:
            http_get(url, pair_path(c), data.token(u))
        if not a.strace:
            vg_pid = svc.alive_pids()[0]
            z = subprocess.Popen(["callgrind_control", "-z", str(vg_pid)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for c, u in pairs[:5]:   # callgrind reads the command while running code
                http_get(url, pair_path(c), data.token(u))
                if z.poll() is not None:
                    break
            zout = z.communicate(timeout=60)[0]
            if z.returncode != 0:
                raise SystemExit("profile: callgrind_control -z failed: " + zout)
        time.sleep(0.2)
        t0 = time.monotonic()
        bad = 0
        for c, u in pairs:
            st, _ = http_get(url, pair_path(c), data.token(u))
            bad += st != 200
        dt = time.monotonic() - t0
        bench.log("%d requests under callgrind in %.1f s, %d not 200" % (len(pairs), dt, bad))
        svc.stop(timeout=30)
        svc = None
        if a.strace:
            with open(outfile + ".strace") as f:
                calls = f.read()
            n = len(pairs) + 50
            print("strace -c of one worker over %d requests (warm-up included):" % n)
            print(calls)
            for line in calls.splitlines():
                m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
                if m and m.group(2) != "total":
                    print("%-20s %6.2f per request" % (m.group(2), int(m.group(1)) / n))
            return 0
        if not os.path.exists(outfile):
            raise SystemExit("profile: callgrind wrote nothing")
        self_cost, incl, total = parse_callgrind(outfile)
        n = len(pairs)
        print("callgrind, %d %s requests through nginx to one worker; instructions (Ir)"
              % (n, "cached (one hot course)" if a.hits else
                 "uncached (random courses), tokens %s" % (
                     "not verified before" if a.cold_tokens else "already verified")))
        print("after warm-up: %d Ir, %.0f per request (connection set-up excluded)\n"
              % (total, total / n))
        print("%-22s %12s  %s" % ("inclusive", "Ir/request", "what"))
        for fn, what in STEPS:
            if incl.get(fn):
                print("%-22s %12.0f  %s" % (fn, incl[fn] / n, what))
        by_ob = collections.Counter()
        for (ob, fn), c in self_cost.items():
            by_ob[short_ob(ob)] += c
        print("\n%-26s %12s %6s" % ("self, by object", "Ir/request", "share"))
        for ob, c in by_ob.most_common(12):
            print("%-26s %12.0f %5.1f%%" % (ob, c / n, 100.0 * c / total))
        print("\n%-44s %-20s %12s %6s" % ("top functions (self)", "object", "Ir/request", "share"))
        for (ob, fn), c in self_cost.most_common(25):
            print("%-44s %-20s %12.0f %5.1f%%" % (fn[:44], short_ob(ob)[:20], c / n,
                                                 100.0 * c / total))
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            shutil.copy(outfile, a.out)
        return 0
    finally:
        for part in (ngx, svc, pg):
            if part is not None:
                try:
                    part.close()
                except Exception as e:
                    bench.log("stop: %s" % e)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
