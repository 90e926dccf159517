#!/usr/bin/env python3
"""bench.py: coursegen-status against its ceilings and the Node tRPC peer, in one run.

    python3 bench/bench.py                 # what `make bench` runs
    python3 bench/bench.py --help

Starts everything itself in a temporary directory and stops it at the end:
  - a throwaway PostgreSQL (tests/localstack.py) with sql/ applied and bench/gen-data.sql
    (100,000 courses, 10,000 users, 1,000 organizations by default);
  - the stacks, all idle but the one being measured:
      service   nginx (shipped site config) -> spawn-fcgi workers of src/coursegen-status
      fixed     the same nginx config -> the same number of bench/fixed-responder workers
                answering a fixed body of the service's size (transport ceiling)
      fixed-db  the same responders also running the service's query once per request
                on a persistent connection (transport + database floor)
      node      bench/peers/trpc-node (@trpc/server v11 standalone, zod, pg, jose),
                pg pool of the same size as the worker count
      pgbench   pgbench -M prepared running the service's SQL (database ceiling), as many
                connections as the service holds (one per worker)
      service-nolimit  the service with RATE_LIMIT=0 (what the rate limiter costs)
    and, on request, variants of the service (keep_conn, DB_PREPARE=0, PgBouncer, pools);
  - checks before measuring that service and peer give the same answers on a sample;
  - drives wrk (bench/pairs.lua) with random authorized (course, token) pairs over all
    courses (misses, CACHE_TTL_MS=0 so every request reaches the database) and over a hot
    set (hits, default cache), interleaving the stacks round by round;
  - prints one table (medians over the rounds): requests/s, p50, p99, errors, memory, and
    the ratios of the service to each other stack. --json FILE keeps every figure.

The service, the responders and the peer reach PostgreSQL over its unix socket, as
pgbench does (--db tcp: loopback TCP). The CPU time of each group of processes (app,
nginx, the whole PostgreSQL cluster, the load generator) is sampled during each run and
printed per request served.

Memory is sampled every 0.5 s during each run, the peak kept: "app" is the RSS of the
workers (all service workers together, the Node process, the pgbench client), "stack" is
app + nginx (master and workers) + the PSS of the PostgreSQL backends serving that stack.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO, "scripts"))
import localstack  # noqa: E402
from localstack import HarnessError, Nginx, Postgres, Service, free_port, port_open  # noqa: E402
from mint_token import mint, standard_claims  # noqa: E402

PEER_DIR = os.path.join(BENCH_DIR, "peers", "trpc-node")
SECRET = "coursegen-bench-secret-0123456789abcdef"
SERVICE_QUERY_RE = re.compile(r'const char db_status_query\[\] =\s*((?:"[^"]*"\s*)+);')


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def service_query():
    """db_status_query from src/db.c (the C string literal pieces joined)."""
    with open(os.path.join(REPO, "src", "db.c")) as f:
        m = SERVICE_QUERY_RE.search(f.read())
    if not m:
        raise HarnessError("db_status_query not found in src/db.c")
    return "".join(re.findall(r'"([^"]*)"', m.group(1)))


# ----------------------------------------------------------------------------- plumbing

class BenchPostgres(Postgres):
    """The harness's cluster with room for the data and the connections of every stack,
    its socket directory open to the pool's unprivileged workers."""

    def start(self):
        super().start()
        os.chmod(self.sockdir, 0o711)
        return self

    def _write_conf(self):
        super()._write_conf()
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("max_connections = 300\n"
                    "shared_buffers = 512MB\n"
                    "max_wal_size = 4GB\n"
                    "wal_level = replica\n"
                    "max_wal_senders = 4\n"
                    "hot_standby = on\n")


class BenchNginx(Nginx):
    """The shipped site and locations files, as the harness writes them, with:
    worker_processes, worker_connections for 256+ clients, no access log (for every
    stack alike), and optionally fastcgi_keep_conn on + upstream keepalive, or several
    upstream servers (pools)."""

    def __init__(self, root, socks, port=None, workers=2, keepalive=0):
        super().__init__(root, socks[0], port=port)
        self.socks = list(socks)
        self.nworkers = workers
        self.keepalive = keepalive

    def write_config(self):
        conf = super().write_config()
        with open(conf) as f:
            s = f.read()
        s = s.replace("worker_processes 1;", "worker_processes %d;" % self.nworkers)
        s = s.replace("worker_connections 256;", "worker_connections 8192;")
        s = re.sub(r"access_log [^;]+;", "access_log off;", s)
        with open(conf, "w") as f:
            f.write(s)
        site = os.path.join(self.root, localstack.SITE_CONF)
        with open(site) as f:
            s = f.read()
        line = "server unix:%s;" % self.socks[0]
        if line not in s:
            raise HarnessError("upstream server line not found in %s" % site)
        repl = "\n    ".join("server unix:%s;" % p for p in self.socks)
        if self.keepalive:
            repl += "\n    keepalive %d;" % self.keepalive
        s = s.replace(line, repl)
        with open(site, "w") as f:
            f.write(s)
        if self.keepalive:
            loc = os.path.join(self.root, "snippets", localstack.LOCATIONS_CONF)
            with open(loc) as f:
                s = f.read()
            if "fastcgi_keep_conn off;" not in s:
                raise HarnessError("fastcgi_keep_conn off; not in the locations file")
            s = s.replace("fastcgi_keep_conn off;", "fastcgi_keep_conn on;")
            with open(loc, "w") as f:
                f.write(s)
        return conf


def stop_process(proc):
    """SIGTERM a process started in a session of its own; after 5 s, SIGKILL its group."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def children_of(pid):
    """All descendants of pid (from /proc)."""
    kids = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(e))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def proc_kb(pid, path, field):
    """A kB figure of /proc/PID/<path> (status VmRSS:, smaps_rollup Pss:), or 0."""
    try:
        with open("/proc/%d/%s" % (pid, path)) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    return proc_kb(pid, "status", "VmRSS:")


def pss_kb(pid):
    return proc_kb(pid, "smaps_rollup", "Pss:")


# ----------------------------------------------------------------------------- stacks

class Stack:
    """One thing measured. url: where wrk sends requests (None for pgbench)."""
    name = "?"
    url = None

    def app_pids(self):
        return []

    def front_pids(self):
        return []

    appname = None   # application_name of its PostgreSQL connections

    def stop(self):
        pass


class FcgiStack(Stack):
    """nginx (shipped config) in front of pools of `binary`: the service's own
    standalone pool (master + workers, as shipped), or spawn-fcgi's workers for the
    fixed responder, which has no master of its own."""

    def __init__(self, name, root, binary, env, workers, pools=1, keepalive=0,
                 nginx_workers=2, appname=None, mode=None):
        self.name = name
        self.appname = appname
        self.services = []
        os.makedirs(root, exist_ok=True)
        per = [workers // pools + (1 if i < workers % pools else 0) for i in range(pools)]
        for i, n in enumerate(per):
            d = os.path.join(root, "pool%d" % i)
            m = mode or ("pool" if os.path.basename(binary) == "coursegen-status"
                         else "spawn-fcgi")
            s = Service(d, env, workers=n, binary=binary, wrapper=[],
                        sock=os.path.join(d, "fcgi.sock"), mode=m)
            s.start()
            self.services.append(s)
        self.nginx = BenchNginx(os.path.join(root, "nginx"), [s.sock for s in self.services],
                                workers=nginx_workers, keepalive=keepalive).start()
        self.url = "http://127.0.0.1:%d" % self.nginx.port

    def app_pids(self):
        """Every process of the stack's app: workers, and a pool's master."""
        return [p for s in self.services
                for p in s.alive_pids() + ([s.master.pid] if s.master else [])]

    def front_pids(self):
        if not self.nginx.proc:
            return []
        return [self.nginx.proc.pid] + children_of(self.nginx.proc.pid)

    def stop(self):
        self.nginx.stop()
        for s in self.services:
            s.stop()


class NodeStack(Stack):
    def __init__(self, root, dsn, pool):
        self.name = "node"
        self.appname = "coursegen-status-trpc-peer"
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=dsn, JWT_SECRET=SECRET, PORT=str(self.port),
                   POOL_SIZE=str(pool), NODE_ENV="production")
        self.logfile = os.path.join(root, "node.log")
        os.makedirs(root, exist_ok=True)
        with open(self.logfile, "ab") as lf:
            self.proc = subprocess.Popen(["node", "server.js"], cwd=PEER_DIR, env=env,
                                         stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                                         start_new_session=True)
        deadline = time.monotonic() + 20
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise HarnessError("node peer did not start:\n" + localstack.tail(self.logfile))
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%d" % self.port

    def app_pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def stop(self):
        stop_process(self.proc)
        self.proc = None


class PgbenchStack(Stack):
    """pgbench -M prepared with the service's SQL over `npairs` authorized pairs chosen at
    random. pgbench can only draw numbers, so the script picks pair i with \\set and an
    \\if chain; each branch is the service's statement with its two parameters bound
    from -D variables (text parameters, as libpq sends them), prepared once per
    connection as the service prepares its one statement."""

    def __init__(self, root, pg, pairs, conns, npairs=128):
        self.name = "pgbench"
        self.appname = "pgbench"
        self.pg = pg
        self.root = root
        self.conns = conns
        os.makedirs(root, exist_ok=True)
        q = service_query()
        chosen = pairs[:npairs]
        lines = ["\\set i random(0, %d)" % (len(chosen) - 1)]
        self.defs = []
        for i, (c, u) in enumerate(chosen):
            lines.append(("\\if :i = %d" if i == 0 else "\\elif :i = %d") % i)
            lines.append(q.replace("$1", ":c%d" % i).replace("$2", ":u%d" % i) + ";")
            self.defs += ["-D", "c%d=%s" % (i, c), "-D", "u%d=%s" % (i, u)]
        lines.append("\\endif")
        self.script = os.path.join(root, "status.sql")
        with open(self.script, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def run(self, duration):
        logdir = tempfile.mkdtemp(prefix="pgb-", dir=self.root)
        os.chmod(logdir, 0o777)
        cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(self.conns),
               "-j", str(min(self.conns, 2)), "-T", str(duration), "-f", self.script,
               "-h", self.pg.sockdir, "-p", str(self.pg.port), "-U", "postgres",
               "-l", "--sampling-rate=0.1", "--log-prefix=%s/pgb" % logdir] + self.defs + \
              [self.pg.dbname]
        env = dict(os.environ, PGAPPNAME="pgbench")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd=logdir)
        return self.proc, logdir

    def app_pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    @staticmethod
    def parse(out, err, logdir, duration):
        m = re.search(r"number of transactions actually processed: (\d+)", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
        if not (m and tps):
            raise HarnessError("pgbench failed:\n%s\n%s" % (out, err))
        lat = []
        for fn in os.listdir(logdir):
            with open(os.path.join(logdir, fn)) as f:
                for line in f:
                    p = line.split()
                    if len(p) >= 3:
                        lat.append(int(p[2]))
        shutil.rmtree(logdir, ignore_errors=True)
        lat.sort()

        def pct(q):
            return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
        return {"requests": int(m.group(1)), "rps": float(tps.group(1)),
                "p50_us": pct(0.50), "p99_us": pct(0.99), "max_us": lat[-1] if lat else 0,
                "errors": int(failed.group(1)) if failed else 0, "non2xx": 0, "sockerr": 0}


# ----------------------------------------------------------------------------- data

PAIR_MARK = "COURSE-ID-MARK"


def pair_path(course):
    return "/trpc/generation.getStatus?input=" + urllib.parse.quote(
        json.dumps({"courseId": course}, separators=(",", ":")), safe="")


class Data:
    def __init__(self, pg, courses, users, orgs, root):
        self.pg = pg
        t0 = time.monotonic()
        run = localstack.run_psql(["-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
                                "-d", pg.dbname, "-v", "courses=%d" % courses,
                                "-v", "users=%d" % users, "-v", "orgs=%d" % orgs,
                                "-f", os.path.join(BENCH_DIR, "gen-data.sql")])
        del run
        self.gen_seconds = time.monotonic() - t0
        rows = pg.psql("SELECT course_id, user_id, hot FROM bench_pairs ORDER BY n")
        self.misses, self.hits = [], []
        for line in rows.splitlines():
            c, u, hot = line.split("|")
            (self.hits if hot == "t" else self.misses).append((c, u))
        self.counts = dict(x.split("|") for x in pg.psql(
            "SELECT coalesce(generation_status, 'NULL'), count(*) FROM courses "
            "GROUP BY 1 ORDER BY 1").splitlines())
        self.nmembers = int(pg.psql("SELECT count(*) FROM user_organizations").strip())
        self.tokens = {}
        self.files = {}
        # The polling workload: 10,000 courses (fewer with a smaller data set), of
        # which the writer updates 200 generating ones, each polled by a user who
        # polls at most POLL_PER_USER of them. At the bench's rate a course is
        # polled every half second (a page: every 2 s), so the user of 13 courses
        # would make 26 calls a second and be limited (RATE_LIMIT, 20 a second):
        # 429s that no front end would cause.
        per_user = collections.Counter()
        self.polling = []
        for c, u in self.misses:
            if len(self.polling) == POLL_COURSES:
                break
            if per_user[u] < POLL_PER_USER:
                per_user[u] += 1
                self.polling.append((c, u))
        for kind, pairs in (("misses", self.misses), ("hits", self.hits),
                            ("polling", self.polling)):
            self.files[kind] = self.write_pairs(root, kind, pairs)
        log("data: %d courses (%s), %d memberships, %d miss pairs, %d hot pairs, %.1f s" % (
            courses, ", ".join("%s %s" % kv for kv in self.counts.items()), self.nmembers,
            len(self.misses), len(self.hits), self.gen_seconds))

    def write_pairs(self, root, kind, pairs):
        """The files bench/pairs.lua reads: one token per line (each user's), and the
        pairs as fixed-width records "<course uuid> <token line, 6 digits>\\n", which
        wrk loads in one read even for a million courses. Returns the wrk arguments."""
        users, index = [], {}
        for _, u in pairs:
            if u not in index:
                index[u] = len(users)
                users.append(u)
        if len(users) > 999999:
            raise HarnessError("too many users for the pairs file")
        tokens = os.path.join(root, "tokens-%s.txt" % kind)
        with open(tokens, "w") as f:
            f.writelines(self.token(u) + "\n" for u in users)
        recs = os.path.join(root, "pairs-%s.bin" % kind)
        with open(recs, "w") as f:
            f.writelines("%s %06d\n" % (c, index[u]) for c, u in pairs)
        prefix, suffix = pair_path(PAIR_MARK).split(PAIR_MARK)
        return [tokens, recs, prefix, suffix]

    def token(self, user):
        t = self.tokens.get(user)
        if t is None:
            t = self.tokens[user] = mint(SECRET, standard_claims(user, 6 * 3600))
        return t


def http_get(url, path, token):
    import http.client
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


ETA_RE = re.compile(rb'"estimatedRemainingSeconds":(\d+)')


def _same(a, b):
    """Equal bodies, but for the ETA, which depends on the database's now() and may
    move by a second or two between the two requests."""
    ea, eb = ETA_RE.search(a), ETA_RE.search(b)
    if ea and eb and abs(int(ea.group(1)) - int(eb.group(1))) <= 2:
        return ETA_RE.sub(b"", a) == ETA_RE.sub(b"", b)
    return a == b


def check_same_answers(data, a, b, n=300):
    """Same status and body from stacks a and b for n pairs (misses and hits). Returns
    (checked, mismatches, bodies of a)."""
    import random
    rnd = random.Random(5)
    sample = rnd.sample(data.misses, min(n, len(data.misses))) + data.hits[:20]
    bad, bodies = [], []
    for c, u in sample:
        t = data.token(u)
        sa, ba = http_get(a.url, pair_path(c), t)
        sb, bb = http_get(b.url, pair_path(c), t)
        bodies.append(ba)
        if sa != 200 or sb != 200 or not _same(ba, bb):
            bad.append((c, u, sa, ba[:300], sb, bb[:300]))
    return len(sample), bad, bodies


# ----------------------------------------------------------------------------- measuring

CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_PARTS = ("app", "nginx", "postgres", "load")


def cpu_ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            p = f.read().rsplit(")", 1)[1].split()
        return int(p[11]) + int(p[12])
    except (OSError, IndexError, ValueError):
        return None


def machine_ticks():
    """(busy, total) ticks of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class MemSampler(threading.Thread):
    """Samples every 0.5 s: peak memory, and the CPU time of each part of the stack
    (app, nginx, the whole PostgreSQL cluster, the load generator). A process's CPU
    counts from its first sample to its last one, so a process that appears during the
    run (pgbench's backends) counts from zero."""

    def __init__(self, stack, pg):
        super().__init__(daemon=True)
        self.stack, self.pg = stack, pg
        self.stopped = threading.Event()
        self.peak = {"app_kb": 0, "app_pss_kb": 0, "front_kb": 0, "db_kb": 0,
                     "stack_kb": 0}
        self.backends = []
        self.load_pid = None
        self.first, self.last = {}, {}   # (part, pid) -> ticks
        self.machine0 = self.machine1 = None
        self.t0 = self.t1 = None

    def begin(self):
        self.t0, self.machine0 = time.monotonic(), machine_ticks()
        self.sample_cpu(initial=True)
        self.start()

    def end(self):
        self.sample_cpu()
        self.t1, self.machine1 = time.monotonic(), machine_ticks()
        self.stopped.set()
        self.join()

    def run(self):
        while not self.stopped.wait(0.5):
            self.sample()
            self.sample_cpu()

    def parts(self):
        out = {"app": self.stack.app_pids(), "nginx": self.stack.front_pids(),
               "postgres": [self.pg.proc.pid] + children_of(self.pg.proc.pid),
               "load": [self.load_pid] if self.load_pid else []}
        if isinstance(self.stack, PgbenchStack):
            out["load"], out["app"] = out["app"], []
        return out

    def sample_cpu(self, initial=False):
        for part, pids in self.parts().items():
            for pid in pids:
                t = cpu_ticks(pid)
                if t is None:
                    continue
                self.first.setdefault((part, pid), t if initial else 0)
                self.last[(part, pid)] = t

    def cpu(self):
        """CPU seconds per part over the run, plus the machine's busy share."""
        out = {k: 0.0 for k in CPU_PARTS}
        for key, t in self.last.items():
            out[key[0]] += (t - self.first[key]) / CLK_TCK
        busy = self.machine1[0] - self.machine0[0]
        total = self.machine1[1] - self.machine0[1]
        out["machine_busy"] = busy / total if total else 0.0
        out["machine_cpu_s"] = busy / CLK_TCK
        return out

    def sample(self):
        pids = self.stack.app_pids()
        app = sum(rss_kb(p) for p in pids)
        app_pss = sum(pss_kb(p) for p in pids)
        front = sum(rss_kb(p) for p in self.stack.front_pids())
        db = sum(pss_kb(p) for p in self.backends)
        cur = {"app_kb": app, "app_pss_kb": app_pss, "front_kb": front, "db_kb": db, "stack_kb": app + front + db}
        for k, v in cur.items():
            self.peak[k] = max(self.peak[k], v)


def backend_pids(pg, appname):
    if not appname:
        return []
    out = pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s'" % appname)
    return [int(x) for x in out.split()]


def run_wrk(url, pairs_args, conns, duration, threads=2):
    cmd = ["wrk", "-t", str(min(threads, conns)), "-c", str(conns), "-d", "%ds" % duration,
           "--timeout", "5s", "-s", os.path.join(BENCH_DIR, "pairs.lua"), url, "--"] + \
        list(pairs_args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parse_wrk(out, err):
    js = [l for l in out.splitlines() if l.startswith("{")]
    if not js:
        raise HarnessError("wrk failed:\n%s\n%s" % (out, err))
    r = json.loads(js[-1])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["non2xx"] = r["status"]
    r["sockerr"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    r["errors"] = r["non2xx"] + r["sockerr"]
    return r


# ----------------------------------------------------------------------------- polling

POLL_COURSES = 10000
POLL_PER_USER = 4
POLL_WRITTEN = 200
POLL_WRITES_PER_S = 100
PROBE_TIMEOUT_S = 2.0
PROBE_MEMBERS = 40


def status_statements(pg):
    """Status queries run by the service's role so far (pg_stat_statements)."""
    return int(pg.psql(
        "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_roles r "
        "ON r.oid = s.userid WHERE r.rolname = '%s' AND s.query LIKE '%%FROM courses%%'"
        % localstack.SERVICE_ROLE).strip())


class Polling:
    """What runs beside wrk in the polling workload: a plain writer (pgbench -R) that
    commits POLL_WRITES_PER_S UPDATEs a second to POLL_WRITTEN generating courses of the
    polled set, and two probes through nginx: a committed write until it shows
    (lastUpdatedAt), and a removed membership until the former member is refused."""

    def __init__(self, pg, data, root):
        self.pg, self.data, self.root = pg, data, root
        ids = ",".join("'%s'" % c for c, _ in data.polling)
        pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        pg.psql("DROP TABLE IF EXISTS bench_written; CREATE TABLE bench_written AS "
                "SELECT row_number() OVER (ORDER BY id) AS n, id FROM courses "
                "WHERE id IN (%s) AND generation_status = 'generating' LIMIT %d"
                % (ids, POLL_WRITTEN))
        self.nwritten = int(pg.psql("SELECT count(*) FROM bench_written").strip())
        self.script = os.path.join(root, "writer.sql")
        with open(self.script, "w") as f:
            f.write("\\set i random(1, %d)\n"
                    "UPDATE courses SET generation_metadata = jsonb_set("
                    "coalesce(generation_metadata, '{}'), '{batch_count}', "
                    "to_jsonb((random() * 8)::int)), updated_at = now() "
                    "WHERE id = (SELECT id FROM bench_written WHERE n = :i);\n"
                    % self.nwritten)
        # The probes poll as fast as they can, far above RATE_LIMIT for one user (a
        # page polls every 2 s): each poll goes out as the next of many users, every
        # one of them allowed and within the limit, so that a probe measures when a
        # change shows, never the rate limiter's wait.
        # The write probe's course: polled, not written by the writer, in the
        # organization with the most members (it polls as each of them).
        written = set(pg.psql("SELECT id FROM bench_written").split())
        ids_unwritten = ",".join("'%s'" % c for c, _ in data.polling if c not in written)
        row = pg.psql("SELECT c.id, c.user_id, c.organization_id FROM courses c "
                      "JOIN user_organizations uo ON uo.organization_id = c.organization_id "
                      "WHERE c.id IN (%s) GROUP BY c.id ORDER BY count(*) DESC, c.id "
                      "LIMIT 1" % ids_unwritten).strip()
        self.probe_course, owner, org = row.split("|")
        members = pg.psql("SELECT user_id FROM user_organizations WHERE "
                          "organization_id = '%s' ORDER BY user_id" % org).split()
        self.probe_users = [owner] + [u for u in members if u != owner]
        # The membership probe: a course with an organization; each cycle makes the
        # next of PROBE_MEMBERS new users a member of it, then removes them.
        row = pg.psql("SELECT id, user_id, organization_id FROM courses WHERE "
                      "organization_id IS NOT NULL AND id IN (%s) LIMIT 1" % ids).strip()
        self.m_course, owner, self.m_org = row.split("|")
        self.m_users = ["00000000-0000-4000-c000-%012d" % (i + 1)
                        for i in range(PROBE_MEMBERS)]
        assert owner not in self.m_users

    def psql_session(self):
        return subprocess.Popen(
            ["psql", "-X", "-q", "-A", "-t", "-h", self.pg.sockdir, "-p", str(self.pg.port),
             "-U", "postgres", "-d", self.pg.dbname], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    @staticmethod
    def commit(sess, sql, mark):
        """Run sql in the session (autocommit) and return when it has committed."""
        sess.stdin.write("%s\n\\echo %s\n" % (sql, mark))
        sess.stdin.flush()
        while True:
            line = sess.stdout.readline()
            if not line:
                raise HarnessError("probe psql session ended")
            if line.strip() == mark:
                return time.monotonic()

    def start(self, stack, duration, probes=True):
        """The writer for `duration` seconds, and with `probes` the two probes through
        `stack` (the ceiling's fixed body never shows a write: it gets the writer
        only, so that both stacks are measured under the same database load)."""
        self.stop_ev = threading.Event()
        self.visible, self.refused = [], []
        self.missed = {"write": 0, "refuse": 0}
        self.polls = self.limited = self.turn = 0
        self.writer = subprocess.Popen(
            ["pgbench", "-n", "-c", "1", "-R", str(POLL_WRITES_PER_S), "-T", str(duration),
             "-f", self.script, "-h", self.pg.sockdir, "-p", str(self.pg.port),
             "-U", "postgres", self.pg.dbname], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PGAPPNAME="bench-writer"))
        self.threads = [threading.Thread(target=self._probe, args=(stack, kind), daemon=True)
                        for kind in (("write", "refuse") if probes else ())]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)
        out, err = self.writer.communicate(timeout=60)
        m = re.search(r"number of transactions actually processed: (\d+)", out)
        self.writes = int(m.group(1)) if m else 0

    def _poller(self, stack):
        import http.client
        u = urllib.parse.urlparse(stack.url)
        return http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def _poll(self, conn, course, token):
        conn.request("GET", pair_path(course), headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        body = r.read()
        self.polls += 1
        if r.status == 429:
            self.limited += 1
        return r.status, body

    def _until(self, conn, course, tokens, pred, t0):
        """Poll until pred(status, body), each poll with the next of tokens; the
        seconds since t0, or None after the bound."""
        while time.monotonic() - t0 < PROBE_TIMEOUT_S:
            st, body = self._poll(conn, course, tokens[self.turn % len(tokens)])
            self.turn += 1
            if pred(st, body):
                return time.monotonic() - t0
        return None

    def _probe(self, stack, kind):
        sess = self.psql_session()
        conn = self._poller(stack)
        k = 0
        try:
            if kind == "write":
                toks = [self.data.token(u) for u in self.probe_users]
                while not self.stop_ev.is_set():
                    k += 1
                    ts = "2031-01-01T00:00:%02d.%03dZ" % ((k // 1000) % 60, k % 1000)
                    t0 = self.commit(sess, "UPDATE courses SET updated_at = '%s' WHERE id "
                                     "= '%s';" % (ts, self.probe_course), "m%d" % k)
                    want = ('"lastUpdatedAt":"%s"' % ts).encode()
                    dt = self._until(conn, self.probe_course, toks,
                                     lambda st, b: st == 200 and want in b, t0)
                    if dt is None:
                        self.missed["write"] += 1
                    else:
                        self.visible.append(dt)
                    self.stop_ev.wait(0.05)
            else:
                while not self.stop_ev.is_set():
                    k += 1
                    user = self.m_users[k % len(self.m_users)]
                    tok = [self.data.token(user)]
                    t0 = self.commit(sess, "INSERT INTO user_organizations (user_id, "
                                     "organization_id) VALUES ('%s', '%s') ON CONFLICT DO NOTHING;"
                                     % (user, self.m_org), "g%d" % k)
                    if self._until(conn, self.m_course, tok,
                                   lambda st, b: st == 200, t0) is None:
                        self.missed["refuse"] += 1
                        continue
                    t0 = self.commit(sess, "DELETE FROM user_organizations WHERE user_id = "
                                     "'%s' AND organization_id = '%s';"
                                     % (user, self.m_org), "r%d" % k)
                    dt = self._until(conn, self.m_course, tok, lambda st, b: st == 403, t0)
                    if dt is None:
                        self.missed["refuse"] += 1
                    else:
                        self.refused.append(dt)
                    self.stop_ev.wait(0.05)
        finally:
            conn.close()
            sess.stdin.close()
            sess.wait(10)


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


def measure_polling(stack, pg, data, conns, duration, polling, warmup):
    """The polling workload on one stack; for the service, after `warmup` seconds of the
    same load unmeasured (every worker's cache sees the courses: the steady state of
    pages that poll for minutes), with the writer and the probes beside it and its
    statements counted. Any other stack (the ceiling) runs with the writer beside it
    too: the workload's database writes load the machine in both, and only what the
    service does about them (notifications, misses) is charged to it."""
    if not stack.name.startswith("service"):
        polling.start(stack, duration, probes=False)
        try:
            return measure(stack, pg, data, "polling", conns, duration)
        finally:
            polling.finish()
    if warmup > 0 and not getattr(stack, "warm", False) and \
            not stack.name.endswith("-ttl"):
        log("polling: %d s of warm-up on %s" % (warmup, stack.name))
        out, err = run_wrk(stack.url, data.files["polling"], conns, warmup).communicate()
        parse_wrk(out, err)
        stack.warm = True
    s0 = status_statements(pg)
    polling.start(stack, duration)
    try:
        r = measure(stack, pg, data, "polling", conns, duration)
    finally:
        polling.finish()
    used = status_statements(pg) - s0
    r["statements"] = used
    r["statements_per_poll"] = used / float(r["requests"] + polling.polls)
    r["writes"] = polling.writes
    r["visible_ms"] = [x * 1000 for x in polling.visible]
    r["refused_ms"] = [x * 1000 for x in polling.refused]
    r["missed"] = dict(polling.missed)
    r["probe_limited"] = polling.limited
    return r


def fmt_polling(runs):
    """One line per service round of the polling workload, against the ceiling's
    median of the same run, and against the ceiling's round measured beside it (the
    rounds are interleaved: on a machine whose speed drifts, the pair of one round
    is the closer comparison)."""
    fixed = [r for r in runs if r["scenario"] == "polling" and r["stack"] == "fixed"]
    by_round = {r["round"]: r for r in fixed}
    out = []
    ceil_rps = statistics.median(r["rps"] for r in fixed) if fixed else 0
    ceil_p99 = statistics.median(r["p99_us"] for r in fixed) if fixed else 0
    hdr = "%-17s %5s %9s %8s %8s %8s %9s %8s %7s %8s %17s %17s %7s" % (
        "stack", "round", "req/s", "/ceiling", "/its rnd", "p99 ms", "p99/ceil", "/its rnd",
        "errors", "stmt/poll", "visible p50/p99", "refused p50/p99", "missed")
    out += [hdr, "-" * len(hdr)]
    for r in runs:
        if r["scenario"] != "polling" or "statements_per_poll" not in r:
            continue
        pair = by_round.get(r["round"])
        out.append("%-17s %5d %9.0f %8.2f %8.2f %8.2f %9.2f %8.2f %7d %8.4f %8.1f/%-8.1f "
                   "%8.1f/%-8.1f %7s" % (
            r["stack"], r["round"], r["rps"], r["rps"] / ceil_rps if ceil_rps else 0,
            r["rps"] / pair["rps"] if pair else 0,
            r["p99_us"] / 1000, r["p99_us"] / ceil_p99 if ceil_p99 else 0,
            r["p99_us"] / pair["p99_us"] if pair else 0, r["errors"],
            r["statements_per_poll"], pct(r["visible_ms"], 50), pct(r["visible_ms"], 99),
            pct(r["refused_ms"], 50), pct(r["refused_ms"], 99),
            "%d/%d" % (r["missed"]["write"], r["missed"]["refuse"])))
    out.append("ceiling (fixed, median of its rounds): %.0f req/s, p99 %.2f ms; visible/"
               "refused in ms from the commit's acknowledgement to the first poll showing "
               "it; missed = probes not seen within %.0f s (write/refuse); %d writes/s by "
               "the plain writer to %d generating courses (beside the ceiling's rounds "
               "too; the probes only beside the service's)"
               % (ceil_rps, ceil_p99 / 1000, PROBE_TIMEOUT_S, POLL_WRITES_PER_S, POLL_WRITTEN))
    limited = sum(r.get("probe_limited", 0) for r in runs if r["scenario"] == "polling")
    out.append("probe polls answered 429 (rate limit): %d (each poll goes out as the next "
               "of many users, so none should be)" % limited)
    return "\n".join(out)


def measure(stack, pg, data, kind, conns, duration):
    sampler = MemSampler(stack, pg)
    if isinstance(stack, PgbenchStack):
        started = time.monotonic()
        proc, logdir = stack.run(duration)
        time.sleep(min(1.0, duration / 4))
        sampler.backends = backend_pids(pg, stack.appname)
        sampler.begin()
        out, err = wait_sampled(proc, sampler, started + duration, duration)
        r = PgbenchStack.parse(out, err, logdir, duration)
    else:
        sampler.backends = backend_pids(pg, stack.appname)
        proc = run_wrk(stack.url, data.files[kind], conns, duration)
        sampler.load_pid = proc.pid
        sampler.begin()
        out, err = wait_sampled(proc, sampler, time.monotonic() + duration, duration)
        r = parse_wrk(out, err)
    r.update(sampler.peak)
    cpu = sampler.cpu()
    r["cpu_s"] = cpu
    # The sampled span is not exactly the load's: scale CPU to the requests served in
    # it, at the measured rate.
    span = sampler.t1 - sampler.t0
    r["cpu_us_per_req"] = {k: cpu[k] * 1e6 / (r["rps"] * span) if r["rps"] else 0.0
                           for k in CPU_PARTS + ("machine_cpu_s",)}
    r["machine_busy"] = cpu["machine_busy"]
    return r


def wait_sampled(proc, sampler, ends, duration):
    """Wait for the load generator, which stops at `ends`; take the last CPU sample
    just before (wrk and pgbench print their results only at the end, so their pipes
    are read meanwhile)."""
    box = {}
    t = threading.Thread(target=lambda: box.update(r=proc.communicate()), daemon=True)
    t.start()
    deadline = time.monotonic() + duration + 60
    while time.monotonic() < ends - 0.3 and proc.poll() is None:
        time.sleep(0.1)
    sampler.end()
    t.join(max(0, deadline - time.monotonic()))
    if "r" not in box:
        proc.kill()
        raise HarnessError("load generator did not finish")
    return box["r"]


def med(rs, key):
    return statistics.median(r[key] for r in rs)


def summarize(rs):
    return {"rps": med(rs, "rps"), "p50_us": med(rs, "p50_us"), "p99_us": med(rs, "p99_us"),
            "errors": sum(r["errors"] for r in rs), "non2xx": sum(r["non2xx"] for r in rs),
            "sockerr": sum(r["sockerr"] for r in rs), "app_kb": max(r["app_kb"] for r in rs),
            "front_kb": max(r["front_kb"] for r in rs), "db_kb": max(r["db_kb"] for r in rs),
            "stack_kb": max(r["stack_kb"] for r in rs),
            "app_pss_kb": max(r["app_pss_kb"] for r in rs), "rounds": len(rs),
            "requests": sum(r["requests"] for r in rs),
            "cpu_us_per_req": {k: statistics.median(r["cpu_us_per_req"][k] for r in rs)
                               for k in rs[0]["cpu_us_per_req"]},
            "machine_busy": med(rs, "machine_busy")}


def fmt_cpu_table(results):
    """Where the machine's CPU went, per request served: one line per run."""
    hdr = "%-8s %5s %-17s %8s %8s %8s %8s %8s %8s  %s" % (
        "load", "conns", "stack", "app", "nginx", "postgres", "load gen", "other",
        "total", "machine busy")
    out = [hdr, "-" * len(hdr)]
    for (scen, conns, name, v) in results:
        c = v["cpu_us_per_req"]
        parts = sum(c[k] for k in CPU_PARTS)
        out.append("%-8s %5d %-17s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f  %5.0f %%" % (
            scen, conns, name, c["app"], c["nginx"], c["postgres"], c["load"],
            max(0.0, c["machine_cpu_s"] - parts), c["machine_cpu_s"],
            100 * v["machine_busy"]))
    return "\n".join(out)


def fmt_table(results, ref="service"):
    """results: list of (scenario, conns, stack, summary). One text table."""
    hdr = ("%-8s %5s %-17s %9s %8s %8s %7s %8s %8s %9s  %s" % (
        "load", "conns", "stack", "req/s", "p50 ms", "p99 ms", "errors", "app RSS",
        "app PSS", "stack MiB", "service vs this (req/s, p99, app mem)"))
    out = [hdr, "-" * len(hdr)]
    for (scen, conns), group in _group(results):
        refs = {s: v for (_, _, s, v) in group}
        base = refs.get(ref)
        for (_, _, name, v) in group:
            ratio = ""
            if base and name != ref and v["rps"] > 0:
                ratio = "%.2fx req/s" % (base["rps"] / v["rps"])
                if v["p99_us"]:
                    ratio += ", %.2fx p99" % (base["p99_us"] / v["p99_us"])
                if v["app_kb"] and name not in ("pgbench", "fixed", "fixed-db"):
                    ratio += ", %.3fx mem" % (base["app_kb"] / v["app_kb"])
            out.append("%-8s %5d %-17s %9.0f %8.2f %8.2f %7d %8.1f %8.1f %9.1f  %s" % (
                scen, conns, name, v["rps"], v["p50_us"] / 1000, v["p99_us"] / 1000,
                v["errors"], v["app_kb"] / 1024, v["app_pss_kb"] / 1024,
                v["stack_kb"] / 1024, ratio))
    return "\n".join(out)


def _group(results):
    keys = []
    for (scen, conns, _, _) in results:
        if (scen, conns) not in keys:
            keys.append((scen, conns))
    return [(k, [r for r in results if (r[0], r[1]) == k]) for k in keys]


# ----------------------------------------------------------------------------- main

def build_stacks(a, root, pg, data, names):
    stacks = {}
    dsn = pg.dsn_for(localstack.SERVICE_ROLE, host="unix" if a.db == "unix" else "127.0.0.1")
    base_env = {"JWT_SECRET": SECRET, "LOG_LEVEL": "warn"}

    def svc_env(appname, extra=None, url=None):
        e = dict(base_env)
        u = url or dsn
        e["DATABASE_URL"] = u + ("&" if "?" in u else "?") + "application_name=" + appname
        e.update(extra or {})
        return e
    binary = os.path.join(REPO, "src", "coursegen-status")
    for name in names:
        if name == "service":
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-service"), a.workers,
                                     nginx_workers=a.nginx_workers, appname="bench-service")
        elif name == "service-spawn":
            # the same workers started by spawn-fcgi (socket on fd 0, no master), as
            # mod_fcgid and a plain spawn-fcgi deployment run them
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-spawn"), a.workers,
                                     nginx_workers=a.nginx_workers, appname="bench-spawn",
                                     mode="spawn-fcgi")
        elif name == "service-keepconn":
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-keepconn"), a.workers,
                                     keepalive=a.keepalive, nginx_workers=a.nginx_workers,
                                     appname="bench-keepconn")
        elif name == "service-ttl":
            # the cache as it was before change notifications: entries live 1 s
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-ttl", {"CACHE_NOTIFY": "0"}), a.workers,
                                     nginx_workers=a.nginx_workers, appname="bench-ttl")
        elif name == "service-noprep":
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-noprep", {"DB_PREPARE": "0"}), a.workers,
                                     nginx_workers=a.nginx_workers, appname="bench-noprep")
        elif name == "service-tokcache":
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-tokcache", {"TOKEN_CACHE": "16384"}),
                                     a.workers, nginx_workers=a.nginx_workers,
                                     appname="bench-tokcache")
        elif name == "service-nolimit":
            # The rate limiter off: what it costs the shipped "service" (limiter on,
            # default RATE_LIMIT), whose clients here stay below the limit.
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-nolimit", {"RATE_LIMIT": "0"}),
                                     a.workers, nginx_workers=a.nginx_workers,
                                     appname="bench-nolimit")
        elif name == "service-2pools":
            stacks[name] = FcgiStack(name, os.path.join(root, name), binary,
                                     svc_env("bench-2pools"), a.workers, pools=2,
                                     nginx_workers=a.nginx_workers, appname="bench-2pools")
        elif name == "service-pgbouncer":
            bouncer = localstack.PgBouncer(os.path.join(root, "pgbouncer"), pg, pool=a.workers)
            stacks["_pgbouncer"] = bouncer
            url = bouncer.dsn(pg.passwords[localstack.SERVICE_ROLE])
            st = FcgiStack(name, os.path.join(root, name), binary,
                           svc_env("bench-pgbouncer", {"DB_PREPARE": "0"}, url=url),
                           a.workers, nginx_workers=a.nginx_workers, appname=None)
            st.bouncer = bouncer
            stacks[name] = st
        elif name == "fixed":
            body = os.path.join(root, "fixed-body.json")
            stacks[name] = FcgiStack(name, os.path.join(root, name),
                                     os.path.join(BENCH_DIR, "fixed-responder"),
                                     {"FIXED_BODY_FILE": body}, a.workers,
                                     nginx_workers=a.nginx_workers)
        elif name == "fixed-db":
            body = os.path.join(root, "fixed-body.json")
            env = svc_env("bench-fixed-db")
            stacks[name] = FcgiStack(name, os.path.join(root, name),
                                     os.path.join(BENCH_DIR, "fixed-responder"),
                                     {"FIXED_BODY_FILE": body,
                                      "FIXED_DB_URL": env["DATABASE_URL"],
                                      "FIXED_DB_QUERY": service_query(),
                                      "FIXED_DB_USER": data.misses[0][1]}, a.workers,
                                     nginx_workers=a.nginx_workers,
                                     appname="bench-fixed-db")
        elif name == "node":
            stacks[name] = NodeStack(os.path.join(root, name), dsn, a.workers)
        elif name == "pgbench":
            stacks[name] = PgbenchStack(os.path.join(root, name), pg, data.misses, a.workers)
        else:
            raise SystemExit("unknown stack %r" % name)
    return stacks


AUTOGROUP = "/proc/sys/kernel/sched_autogroup_enabled"


def autogroup_off():
    """Turn the scheduler's autogroups off for the run (root only); returns what to
    restore, or None. With them on, CPU is shared between sessions: spawn-fcgi puts
    each of its workers in a session of its own (the fixed responder's four got four
    shares), the pool is one session (its four workers shared one), and the ceiling
    won on scheduling, not on work. Off, every process of every stack weighs the same,
    as in the root group of a server's cgroup."""
    try:
        with open(AUTOGROUP) as f:
            was = f.read().strip()
        if was != "0" and os.geteuid() == 0:
            with open(AUTOGROUP, "w") as f:
                f.write("0")
            return was
    except OSError:
        pass
    return None


def autogroup_state():
    try:
        with open(AUTOGROUP) as f:
            return "off" if f.read().strip() == "0" else \
                "ON (not root: spawn-fcgi's workers outweigh the pool's)"
    except OSError:
        return "n/a"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--courses", type=int, default=100000)
    p.add_argument("--users", type=int, default=10000)
    p.add_argument("--orgs", type=int, default=1000)
    p.add_argument("--workers", type=int, default=4,
                   help="service (and fixed responder) workers = node pool = pgbench conns")
    p.add_argument("--nginx-workers", type=int, default=2)
    p.add_argument("--db", choices=("unix", "tcp"), default="unix",
                   help="how the service and the Node peer reach PostgreSQL: its unix "
                        "socket, as pgbench does (default), or TCP on 127.0.0.1")
    p.add_argument("--keepalive", type=int, default=8,
                   help="upstream keepalive pool of the service-keepconn stack")
    p.add_argument("--conns", default="64", help="wrk connections, comma-separated")
    p.add_argument("--duration", type=int, default=10, help="seconds per run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scenarios", default="misses,hits,polling",
                   help="misses, hits, polling (issue 10: 10,000 courses polled while a "
                        "writer updates 200 of them, with latency probes)")
    p.add_argument("--stacks", default="service,service-nolimit,fixed,fixed-db,node,pgbench,service-ttl",
                   help="of service, fixed, fixed-db (the fixed responder also running "
                        "the service's query: transport + database), node, pgbench, "
                        "service-keepconn, service-spawn (the workers under spawn-fcgi, "
                        "no master), service-ttl (CACHE_NOTIFY=0: the 1 s TTL "
                        "cache, polling only), "
                        "service-noprep, service-pgbouncer, service-2pools, "
                        "service-tokcache (TOKEN_CACHE=16384), "
                        "service-nolimit (RATE_LIMIT=0: the rate limiter's cost)")
    p.add_argument("--hit-stacks", default="service,service-nolimit,node",
                   help="stacks measured in the hits scenario")
    p.add_argument("--polling-stacks", default="service,service-ttl,fixed",
                   help="stacks measured in the polling scenario (fixed: the ceiling)")
    p.add_argument("--polling-warmup", type=int, default=40,
                   help="seconds of unmeasured polling before the first service round "
                        "(4 workers with a cache each see every course of 10,000)")
    p.add_argument("--json", help="write every run's figures here")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = p.parse_args(argv)

    for tool in ("wrk", "pgbench", "nginx", "spawn-fcgi", "node"):
        if not shutil.which(tool):
            raise SystemExit("bench: %s not found (scripts/install-deps)" % tool)
    names = a.stacks.split(",")
    if ("fixed" in names or "fixed-db" in names) and \
            not os.access(os.path.join(BENCH_DIR, "fixed-responder"), os.X_OK):
        raise SystemExit("bench: bench/fixed-responder not built (make bench builds it)")
    if "node" in names and not os.path.isdir(os.path.join(PEER_DIR, "node_modules")):
        log("npm ci in %s" % PEER_DIR)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True)

    localstack._exit_on_sigterm()
    autogroup_was = autogroup_off()
    root = tempfile.mkdtemp(prefix="coursegen-bench-")
    os.chmod(root, 0o755)
    stacks = {}
    pg = None
    try:
        pg = BenchPostgres(os.path.join(root, "pg")).start()
        pg.apply_sql_dir(localstack.SQL_DIR)
        pg.set_password(localstack.SERVICE_ROLE)
        data = Data(pg, a.courses, a.users, a.orgs, root)
        with open(os.path.join(root, "fixed-body.json"), "wb") as f:
            f.write(b"{}")   # replaced below, once the service's size is known
        stacks = build_stacks(a, root, pg, data, names)
        # Same answers from the service and the peer; the fixed body is the median size.
        ref = stacks.get("service")
        if ref and "node" in stacks:
            n, bad, bodies = check_same_answers(data, ref, stacks["node"])
            log("service vs node: %d pairs compared, %d differ" % (n, len(bad)))
            for b in bad[:5]:
                log("  differs: %r" % (b,))
            if bad:
                raise SystemExit("bench: the service and the Node peer disagree")
        elif ref:
            bodies = [http_get(ref.url, pair_path(c), data.token(u))[1]
                      for c, u in data.misses[:300]]
        if ("fixed" in stacks or "fixed-db" in stacks) and ref:
            sizes = sorted(len(b) for b in bodies)
            median_body = sorted(bodies, key=len)[len(bodies) // 2]
            with open(os.path.join(root, "fixed-body.json"), "wb") as f:
                f.write(median_body)
            log("response bodies %d..%d bytes, median %d: the fixed responder sends that one"
                % (sizes[0], sizes[-1], len(median_body)))
            # the responders read the file at start: restart them
            for n in ("fixed", "fixed-db"):
                if n not in stacks:
                    continue
                for s in stacks[n].services:
                    s.restart()
                st, body = http_get(stacks[n].url, pair_path(data.misses[0][0]), "x")
                if st != 200 or body != median_body:
                    raise SystemExit("bench: %s responder answered %d %r" % (
                        n, st, body[:80]))
        for s in stacks.values():
            if isinstance(s, FcgiStack) and s.name.startswith("service") and \
                    s.name != "service":
                c, u = data.misses[1]
                st, body = http_get(s.url, pair_path(c), data.token(u))
                if st != 200:
                    raise SystemExit("bench: %s answered %d %r" % (s.name, st, body[:200]))

        results, runs = [], []
        conns_list = [int(x) for x in a.conns.split(",")]
        polling = Polling(pg, data, root) if "polling" in a.scenarios.split(",") else None
        for scen in a.scenarios.split(","):
            only = {"hits": a.hit_stacks, "polling": a.polling_stacks}.get(scen)
            order = [n for n in names if (only is None and n != "service-ttl") or
                     (only is not None and n in only.split(","))]
            if scen != "misses" and "pgbench" in order:
                order.remove("pgbench")
            ttl = "0" if scen == "misses" else "1000"
            for n in order:
                s = stacks[n]
                if isinstance(s, FcgiStack) and s.name.startswith("service"):
                    for svc in s.services:
                        svc.restart(env=dict(svc.env, CACHE_TTL_MS=ttl))
            for conns in conns_list:
                per = {n: [] for n in order}
                for rnd in range(a.rounds):
                    for n in order:
                        if n == "pgbench" and conns != conns_list[0] and len(conns_list) > 1 \
                                and rnd > 0:
                            pass
                        if scen == "polling":
                            r = measure_polling(stacks[n], pg, data, conns, a.duration,
                                                polling, a.polling_warmup)
                        else:
                            r = measure(stacks[n], pg, data, scen, conns, a.duration)
                        r.update(stack=n, scenario=scen, conns=conns, round=rnd)
                        runs.append(r)
                        per[n].append(r)
                        log("%s c=%d round %d %-16s %8.0f req/s p99 %.2f ms errors %d%s" % (
                            scen, conns, rnd, n, r["rps"], r["p99_us"] / 1000, r["errors"],
                            " (non-2xx %d, connect %d, read %d, write %d, timeout %d)" % (
                                r.get("status", 0), r.get("connect", 0), r.get("read", 0),
                                r.get("write", 0),
                                r.get("timeout", 0)) if r["errors"] else ""))
                for n in order:
                    results.append((scen, conns, n, summarize(per[n])))
        print()
        print("coursegen-status benchmark: %d courses, %d users, %d organizations; "
              "%d workers = node pool = pgbench connections; %d nginx workers; "
              "%d rounds of %d s, interleaved; medians (errors summed, memory peak)"
              % (a.courses, a.users, a.orgs, a.workers, a.nginx_workers, a.rounds,
                 a.duration))
        print("machine: %s, %d cores, %s; tree: %s; scheduler autogroups %s" % (
            cpu_model(), os.cpu_count(), kernel(), git_state(), autogroup_state()))
        print("memory in MiB: app = service workers / node / pgbench client (RSS sum, PSS "
              "sum), stack = app RSS + nginx RSS + PSS of its PostgreSQL backends")
        print(fmt_table(results))
        print()
        print("CPU time per request served, in microseconds (app = service workers / "
              "fixed responders / node / pgbench client; postgres = the whole cluster; "
              "load gen = wrk or pgbench; other = the rest of the machine's busy time: "
              "kernel work outside these processes, the bench itself)")
        print(fmt_cpu_table(results))
        if polling:
            print()
            print("polling workload (issue 10): each service round against the ceiling")
            print(fmt_polling(runs))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"args": vars(a), "runs": runs,
                           "summary": [{"scenario": s, "conns": c, "stack": n, **v}
                                       for (s, c, n, v) in results],
                           "data": {"counts": data.counts, "memberships": data.nmembers,
                                    "gen_seconds": data.gen_seconds}}, f, indent=1)
        return 0
    finally:
        for n, s in reversed(list(stacks.items())):
            try:
                s.stop()
            except Exception as e:
                log("stopping %s: %s" % (n, e))
        if pg:
            pg.close()
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log("kept %s" % root)
        if autogroup_was is not None:
            with open(AUTOGROUP, "w") as f:
                f.write(autogroup_was)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def git_state():
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "src"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted src/ changes" if dirty else "")
    except OSError:
        return "?"


def kernel():
    return " ".join(os.uname()[i] for i in (0, 2))


if __name__ == "__main__":
    sys.exit(main())
