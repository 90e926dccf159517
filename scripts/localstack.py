#!/usr/bin/env python3
"""localstack.py: the local stack, a throwaway PostgreSQL + the service's workers (its
own pool, or spawn-fcgi: see Service) + nginx.

Not a test: the module that ./run serves (`python3 scripts/localstack.py serve`) and
that every test suite imports to get the real stack (tests/e2e, tests/browser,
tests/clients, tests/deb, tests/soak, bench/). Stdlib only. Everything it starts listens on 127.0.0.1 or on unix
sockets inside its own directory, and is stopped by close()/stop(), by the context
manager, or at interpreter exit (atexit, and SIGTERM is turned into a normal exit).

    from localstack import Stack      # scripts/ on sys.path (PYTHONPATH)
    stack = Stack(workers=2, env={"CACHE_TTL_MS": "0"})   # started on return
    status, headers, body = stack.get("generation.getStatus?" + input_query({...}),
                                      headers=stack.auth(ALICE))
    stack.close()

Running as root (CI): PostgreSQL runs as the OS user `postgres` (COURSEGEN_PG_USER
overrides; `nobody` when there is no postgres user); the service workers and nginx's
workers run as the invoking user.

Environment read here:
    COURSEGEN_BIN       service binary (default <repo>/src/coursegen-status)
    COURSEGEN_WRAPPER   command put in front of the binary, e.g. "valgrind -q
                        --error-exitcode=99" (split like a shell would)
    COURSEGEN_KEEP_TMP  1 = keep the temporary directory after close() (debugging)
    PG_BIN              PostgreSQL server binaries (default: newest /usr/lib/postgresql/*/bin)
    COURSEGEN_PG_USER   OS user to run PostgreSQL as when root
    COURSEGEN_SIM       simulator binary (default <repo or build dir>/sim/coursegen-simulate)
    COURSEGEN_PLATFORM  0 = a bare database instead of the Supabase stand-in

The database: a Supabase stand-in (PLATFORM_*_SQL below: API roles with Supabase's
default privileges, the platform's tables with more columns, RLS and comments, `public`
writable by PUBLIC) to which every sql/0*.sql is applied, in order, by PLATFORM_OWNER,
a non-superuser with CREATEROLE. COURSEGEN_PLATFORM=0: a bare database, sql/ applied by
the superuser.

The worker side: sql/004-worker-api.sql and 005-worker-role.sql give the generation
worker SQL functions (coursegen.generation_*) and the role coursegen_worker;
Stack.worker_url connects as that role and Stack.simulate() runs
sim/coursegen-simulate on it. Stack(web=True) also serves
the progress page (web/) at /progress/ (Stack.page_url()).
"""

import atexit
import fcntl
import glob
import grp
import http.client
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(SCRIPTS_DIR)
sys.path.insert(0, SCRIPTS_DIR)
from mint_token import mint, standard_claims  # noqa: E402

SQL_DIR = os.path.join(REPO, "sql")
SAMPLE_DIR = os.path.join(REPO, "sql", "sample")
NGINX_DIR = os.path.join(REPO, "nginx")
WEB_DIR = os.path.join(REPO, "web")
# Where the page is served in the stack's nginx (not part of the shipped config).
WEB_LOCATION = "/progress/"
# The line of the shipped site config after which the stack adds its web location.
NGINX_INCLUDE_ANCHOR = "include snippets/coursegen-status-locations.conf;"
SITE_CONF = "coursegen-status.conf"
LOCATIONS_CONF = "coursegen-status-locations.conf"
# The strings of nginx/coursegen-status.conf the stack replaces (each must occur once).
NGINX_LISTEN_PLACEHOLDER = "127.0.0.1:8080"
NGINX_SOCKET_PLACEHOLDER = "/run/coursegen-status/fcgi.sock"

DEFAULT_SECRET = "coursegen-test-secret-0123456789abcdef"
DB_NAME = "coursegen"
SERVICE_ROLE = "coursegen_status"
WORKER_ROLE = "coursegen_worker"
OWNER_ROLE = "coursegen_owner"
SUPERUSER = "postgres"
# The Supabase stand-in's migration owner: like Supabase's `postgres`, it owns the
# database and the platform's tables, has CREATEROLE and is NOT a superuser. sql/ is
# applied as this role.
PLATFORM_OWNER = "platform_owner"
# Supabase's API roles (PostgREST switches to them), given Supabase's default
# privileges on what the platform owner creates.
API_ROLES = ("anon", "authenticated", "service_role")

# The Supabase stand-in, part 1 (as the superuser, once per cluster): the API roles
# and the migration owner.
PLATFORM_ROLES_SQL = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
        CREATE ROLE platform_owner LOGIN CREATEROLE CREATEDB NOSUPERUSER;
    END IF;
END
$$;
"""

# Part 2 (as the superuser, per database): the database belongs to the platform owner,
# `public` is writable by everyone (as on a cluster upgraded from PostgreSQL 14), the
# API roles may use it.
PLATFORM_DB_SQL = """
ALTER DATABASE %(db)s OWNER TO platform_owner;
ALTER SCHEMA public OWNER TO platform_owner;
GRANT CREATE, USAGE ON SCHEMA public TO PUBLIC;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
"""

# Part 3 (as the platform owner): Supabase's default privileges, the platform's tables
# with more columns than the service reads, a surrogate key and no index on
# (user_id, organization_id) for memberships, row-level security with the platform's
# own policies, a child table with a foreign key, comments (one with a pg_graphql
# directive).
PLATFORM_TABLES_SQL = """
BEGIN;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;
CREATE TABLE public.courses (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid        NOT NULL,
    organization_id     uuid,
    title               text        NOT NULL DEFAULT '',
    description         text,
    status              text        NOT NULL DEFAULT 'draft',
    language            text        NOT NULL DEFAULT 'ru',
    settings            jsonb       NOT NULL DEFAULT '{}',
    generation_status   text,
    generation_metadata jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.user_organizations (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         uuid        NOT NULL,
    organization_id uuid        NOT NULL,
    role            text        NOT NULL DEFAULT 'member',
    invited_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.lessons (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    course_id uuid NOT NULL REFERENCES public.courses (id) ON DELETE CASCADE,
    title     text NOT NULL DEFAULT ''
);
CREATE INDEX lessons_course_id_idx ON public.lessons (course_id);
ALTER TABLE public.courses ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.lessons ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION public.request_uid() RETURNS uuid LANGUAGE sql STABLE AS
    $f$ SELECT nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid $f$;
CREATE POLICY "Owners manage their courses" ON public.courses FOR ALL TO authenticated
    USING (user_id = public.request_uid()) WITH CHECK (user_id = public.request_uid());
CREATE POLICY "Members read organization courses" ON public.courses FOR SELECT TO authenticated
    USING (organization_id IN (SELECT organization_id FROM public.user_organizations
                               WHERE user_id = public.request_uid()));
CREATE POLICY "Users read their memberships" ON public.user_organizations FOR SELECT
    TO authenticated USING (user_id = public.request_uid());
CREATE POLICY "Owners manage lessons" ON public.lessons FOR ALL TO authenticated
    USING (course_id IN (SELECT id FROM public.courses WHERE user_id = public.request_uid()));
COMMENT ON TABLE public.courses IS E'@graphql({"totalCount": {"enabled": true}})\nCourses of the platform.';
COMMENT ON COLUMN public.courses.created_at IS 'When the user created the course.';
COMMENT ON TABLE public.user_organizations IS 'Who belongs to which organization.';
COMMIT;
"""

# Service variables never inherited from the caller's environment: only what the
# stack (or the test) sets reaches the workers.
SERVICE_VARS = ("DATABASE_URL", "JWT_SECRET", "JWT_SECRET_FILE", "JWT_PUBLIC_KEYS",
                "JWT_JWKS_FILE", "JWT_AUDIENCE", "JWT_ISSUER", "TOKEN_CACHE",
                "TRPC_BASE", "TRPC_TRANSFORMER", "CACHE_TTL_MS", "JWT_LEEWAY",
                "MAX_BATCH", "MAX_BODY", "MAX_QUERY", "DB_CONNECT_TIMEOUT",
                "DB_STATEMENT_TIMEOUT_MS", "DB_PREPARE", "METRICS_PATH", "HEALTH_PATH",
                "LOG_LEVEL", "LOG_TARGET", "ACCESS_LOG", "LISTEN", "WORKERS",
                "MAX_REQUESTS", "LISTEN_BACKLOG", "LISTEN_MODE", "LISTEN_GROUP",
                "CORS_ORIGINS", "RATE_LIMIT", "RATE_LIMIT_BURST",
                "RUN_AS_USER", "RUN_AS_GROUP", "SHUTDOWN_TIMEOUT", "COURSEGEN_CONFIG",
                "PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE",
                "PGSERVICEFILE", "PGPASSFILE")


class HarnessError(RuntimeError):
    """A component failed to start or stop; the message carries the relevant log."""


# ----------------------------------------------------------------------------- utilities

def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1", timeout=0.2):
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def input_query(value, batch=False):
    """Return the query string `input=<urlencoded JSON>` for `value` (prefixed
    `batch=1&` when batch is true), as the tRPC client builds it."""
    q = "input=" + urllib.parse.quote(json.dumps(value, separators=(",", ":"),
                                                 ensure_ascii=False), safe="")
    return ("batch=1&" + q) if batch else q


def tail(path, lines=40):
    """Return the last `lines` lines of a text file ('' if it does not exist)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _is_root():
    return os.geteuid() == 0


def _pg_bindir():
    env = os.environ.get("PG_BIN")
    if env:
        return env
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "initdb"))]
    if dirs:
        return sorted(dirs, key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit()
                      else 0)[-1]
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise HarnessError("PostgreSQL server binaries not found (install postgresql or set PG_BIN)")


def _pid_alive(pid):
    """True if pid exists and is not a zombie (zombies are reaped when they are ours)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _unix_socket_inodes(path):
    """Inodes of the unix sockets bound to `path` (listening and accepted ones)."""
    inodes = set()
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and parts[7] == path:
                    inodes.add(parts[6])
    except OSError:
        pass
    return inodes


def _pids_holding_sockets(inodes):
    """Pids of processes with an open fd on one of the socket inodes."""
    if not inodes:
        return set()
    wanted = {"socket:[%s]" % i for i in inodes}
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fddir = "/proc/%s/fd" % entry
        try:
            for fd in os.listdir(fddir):
                try:
                    if os.readlink(os.path.join(fddir, fd)) in wanted:
                        pids.add(int(entry))
                        break
                except OSError:
                    continue
        except OSError:
            continue
    return pids


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    left = {p for p in pids if _pid_alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = {p for p in left if _pid_alive(p)}
    return left


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _terminate(proc, grace=5):
    """SIGTERM proc (a Popen, or None), SIGKILL it after `grace` seconds; reaped."""
    if proc is None or proc.poll() is not None:
        return
    _signal(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        _signal(proc.pid, signal.SIGKILL)
        proc.wait()


class _Cleanup:
    """Objects still running at interpreter exit are stopped, newest first."""
    live = []
    lock = threading.Lock()

    @classmethod
    def add(cls, obj):
        with cls.lock:
            cls.live.append(obj)

    @classmethod
    def remove(cls, obj):
        with cls.lock:
            if obj in cls.live:
                cls.live.remove(obj)

    @classmethod
    def run(cls):
        while True:
            with cls.lock:
                if not cls.live:
                    return
                obj = cls.live.pop()
            try:
                obj.close()
            except Exception as e:  # at exit: report and go on with the rest
                sys.stderr.write("localstack: cleanup of %r failed: %s\n" % (obj, e))


atexit.register(_Cleanup.run)


def _exit_on_sigterm():
    """Make SIGTERM (and SIGHUP) a normal exit so that atexit cleanup runs, unless the
    program installed its own handlers."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))


def _run_group(cmd, timeout, user=None):
    """subprocess.run (as `user` if given) in a new session whose whole process group
    is killed if we are interrupted or time out (initdb and its single-user
    postgres). Returns a CompletedProcess with text stdout/stderr."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd="/",
                            start_new_session=True, **_user_kwargs(user))
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_psql(args, sql=None, env=None, check=True):
    """Run `psql -X -q -At -v ON_ERROR_STOP=1 <args>` with `sql` on stdin; return stdout.
    Raises HarnessError with psql's stderr when it fails and check is true."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + list(args)
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(cmd, input=sql, capture_output=True, text=True, env=full_env)
    if check and p.returncode != 0:
        raise HarnessError("psql failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return p.stdout


def sql_files(path):
    """The *.sql files directly in `path`, in file-name order (subdirectories skipped)."""
    return sorted(f for f in glob.glob(os.path.join(path, "*.sql")) if os.path.isfile(f))


# ----------------------------------------------------------------------------- Postgres

class Postgres:
    """A throwaway PostgreSQL cluster in `<root>`.

    Listens on a unix socket in <root>/sock and on 127.0.0.1:<port>. The superuser
    `postgres` connects over the socket without a password (trust); every other role
    authenticates with scram-sha-256, locally and over TCP. start() creates the cluster
    and the database `coursegen` on first use; stop()/start() keep the data.

    The postmaster is a direct child of this process (no pg_ctl, which would detach
    it), in a session of its own, so an interrupted start or a dying test can always
    take it down. As root, it and initdb run as the OS user _pg_os_user().
    """

    def __init__(self, root, port=None, dbname=DB_NAME):
        self.root = os.path.abspath(root)
        self.data = os.path.join(self.root, "data")
        self.sockdir = os.path.join(self.root, "sock")
        self.logfile = os.path.join(self.root, "postgres.log")
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.dbname = dbname
        self.bindir = _pg_bindir()
        self.os_user = _pg_os_user()
        self.passwords = {}
        self.proc = None

    def __repr__(self):
        return "Postgres(%s, port %d)" % (self.root, self.port)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _init(self):
        os.makedirs(self.root, exist_ok=True)
        for d in (self.data, self.sockdir):
            os.makedirs(d, mode=0o700, exist_ok=True)
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            for d in (self.root, self.data, self.sockdir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            if _run_group(["test", "-w", self.data], 10, self.os_user).returncode != 0:
                raise HarnessError("%s cannot write %s: a parent directory is not "
                                   "searchable by that user" % (self.os_user, self.data))
        p = _run_group([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", SUPERUSER,
                        "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
                        "--no-instructions"], 120, self.os_user)
        if p.returncode != 0:
            raise HarnessError("initdb failed (%d): %s\n%s" % (p.returncode, p.stdout,
                                                               p.stderr))
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("# written by scripts/localstack.py\n"
                    "local all %s trust\n"
                    "local all all scram-sha-256\n"
                    "host  all all 127.0.0.1/32 scram-sha-256\n" % SUPERUSER)
        self._write_conf()

    def _write_conf(self):
        # Settings for a disposable cluster: durability off, small, quiet.
        with open(os.path.join(self.data, "postgresql.auto.conf"), "w") as f:
            f.write("# written by scripts/localstack.py\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "port = %d\n"
                    "unix_socket_directories = '%s'\n"
                    "fsync = off\n"
                    "synchronous_commit = off\n"
                    "full_page_writes = off\n"
                    "max_connections = 50\n"
                    "shared_buffers = 16MB\n"
                    # tests count the service's statements (tests/e2e/test_35_cache.py)
                    "shared_preload_libraries = 'pg_stat_statements'\n"
                    "log_min_messages = warning\n"
                    "log_connections = off\n" % (self.port, self.sockdir))
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            for name in ("pg_hba.conf", "postgresql.auto.conf"):
                os.chown(os.path.join(self.data, name), pw.pw_uid, pw.pw_gid)

    def _pm_status(self):
        """Line 8 of postmaster.pid: 'starting', 'ready', 'stopping' (or None)."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().splitlines()
            return lines[7].strip() if len(lines) >= 8 else None
        except OSError:
            return None

    def _spawn(self, timeout=60.0):
        """Start the postmaster; True when ready, False when it exited (log kept)."""
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(self.bindir, "postgres"), "-D", self.data],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                start_new_session=True, **_user_kwargs(self.os_user))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if self._pm_status() == "ready":
                return True
            time.sleep(0.02)
        self._kill()
        raise HarnessError("postgres not ready after %ds\n%s" % (timeout, tail(self.logfile)))

    def start(self):
        """Create the cluster if needed, start it and wait until it accepts connections.
        Returns self. Raises HarnessError with the server log on failure."""
        if self.running:
            return self
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._init()
        _Cleanup.add(self)
        try:
            for attempt in range(3):
                if self._spawn():
                    break
                if self.fixed_port or attempt == 2 or \
                        "could not bind" not in tail(self.logfile, 10):
                    raise HarnessError("postgres did not start\n--- postgres.log ---\n%s"
                                       % tail(self.logfile))
                self.port = free_port()   # lost a race for the port: take another one
                self._write_conf()
            exists = self.psql("SELECT 1 FROM pg_database WHERE datname = '%s'"
                               % self.dbname, db="postgres").strip()
            if not exists:
                self.psql("CREATE DATABASE %s" % self.dbname, db="postgres")
        except BaseException:
            self.close()
            raise
        return self

    def stop(self, mode="fast", timeout=30.0):
        """Stop the server (data kept; start() brings it back on the same port).
        mode 'smart', 'fast' or 'immediate' (SIGTERM, SIGINT, SIGQUIT); after
        `timeout` seconds the whole process group is killed."""
        if self.proc is None:
            return
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT,
               "immediate": signal.SIGQUIT}[mode]
        _signal(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self._kill()

    def _kill(self):
        """SIGKILL whatever is left of the postmaster's process group, then reap."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc = None

    def close(self):
        """Stop the server; the directory is removed by the owner (Stack)."""
        self.stop()
        _Cleanup.remove(self)

    def postmaster_pid(self):
        return self.proc.pid if self.proc else None

    def psql(self, sql, user=SUPERUSER, db=None, check=True):
        """Run `sql` (one or more statements, psql meta-commands allowed) as `user`
        and return psql's unaligned, tuples-only stdout (fields separated by '|').
        Roles other than the superuser use the password set by set_password()."""
        env = {}
        if user != SUPERUSER:
            env["PGPASSWORD"] = self.passwords.get(user, "")
        return run_psql(["-h", self.sockdir, "-p", str(self.port), "-U", user,
                         "-d", db or self.dbname], sql, env=env, check=check)

    def apply_sql_file(self, path, user=SUPERUSER, db=None, variables=None):
        """Apply one SQL file with ON_ERROR_STOP=1 as `user` (psql -v for each of
        `variables`, e.g. {"lock_timeout": "1s"}); returns psql's stdout."""
        args = []
        for k, v in (variables or {}).items():
            args += ["-v", "%s=%s" % (k, v)]
        env = {}
        if user != SUPERUSER:
            env["PGPASSWORD"] = self.passwords.get(user, "")
        return run_psql(["-h", self.sockdir, "-p", str(self.port), "-U", user,
                         "-d", db or self.dbname, "-f", path] + args, env=env)

    def apply_sql_dir(self, path, user=SUPERUSER, db=None, variables=None):
        """Apply every *.sql directly in `path`, in file-name order (sql/ holds
        0*.sql only: every numbered file, whoever added it). Returns the list."""
        files = sql_files(path)
        for f in files:
            try:
                self.apply_sql_file(f, user=user, db=db, variables=variables)
            except HarnessError as e:
                raise HarnessError("%s: %s" % (f, e))
        return files

    def make_platform(self, db=None):
        """Turn database `db` (default: the cluster's) into the Supabase stand-in
        (PLATFORM_*_SQL): API roles, the non-superuser owner PLATFORM_OWNER with
        CREATEROLE, default privileges, the platform's tables with RLS. Returns the
        owner's name; apply sql/ as it."""
        db = db or self.dbname
        self.psql(PLATFORM_ROLES_SQL, db=db)
        if PLATFORM_OWNER not in self.passwords:
            self.set_password(PLATFORM_OWNER)
        self.psql(PLATFORM_DB_SQL % {"db": db}, db=db)
        self.psql(PLATFORM_TABLES_SQL, user=PLATFORM_OWNER, db=db)
        return PLATFORM_OWNER

    def set_password(self, role=SERVICE_ROLE, password=None):
        """Give `role` a (random unless given) password; returns it."""
        password = password or secrets.token_hex(16)
        self.psql("ALTER ROLE %s PASSWORD '%s'" % (role, password))
        self.passwords[role] = password
        return password

    def dsn_for(self, user=SERVICE_ROLE, host="127.0.0.1"):
        """URI to connect as `user` (password from set_password) over TCP, or over the
        unix socket with host='unix'."""
        pw = self.passwords.get(user)
        auth = urllib.parse.quote(user) + ((":" + urllib.parse.quote(pw)) if pw else "")
        if host == "unix":
            return "postgresql://%s@/%s?host=%s&port=%d" % (
                auth, self.dbname, urllib.parse.quote(self.sockdir, safe=""), self.port)
        return "postgresql://%s@%s:%d/%s" % (auth, host, self.port, self.dbname)

    @property
    def dsn(self):
        """DATABASE_URL for the service: role coursegen_status, password, TCP."""
        return self.dsn_for(SERVICE_ROLE)


def _pg_os_user():
    """The OS user PostgreSQL runs as: None unless root."""
    if not _is_root():
        return None
    return os.environ.get("COURSEGEN_PG_USER") or (
        "postgres" if _user_exists("postgres") else "nobody")


def _user_kwargs(user):
    """Popen arguments to run a child as `user` (no supplementary groups), or {}."""
    if not user:
        return {}
    pw = pwd.getpwnam(user)
    env = dict(os.environ, HOME=pw.pw_dir, USER=user, LOGNAME=user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [], "env": env}


def _reachable_by_pg_user(path):
    """True if the PostgreSQL OS user can enter `path` (always true when not root)."""
    user = _pg_os_user()
    if user is None:
        return True
    return _run_group(["test", "-x", path], 10, user).returncode == 0


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# ----------------------------------------------------------------------------- Service

class Service:
    """The service's FastCGI workers, in one of two deployments (mode):

    "pool"        the service's own master: `BIN --listen unix:SOCK --workers N`
                  (the default; COURSEGEN_MODE overrides it for a whole run);
    "spawn-fcgi"  `spawn-fcgi -s SOCK -F N -P PIDFILE -- BIN`, the socket on fd 0.

    spawn-fcgi points the workers' stdout/stderr at /dev/null, so there the binary
    is started through `sh -c 'exec BIN 2>>LOG'`; the master's stderr goes to the
    log directly. Either way stderr lands in <root>/service.log. The environment is
    the caller's minus SERVICE_VARS, plus `env` (a value None removes a variable).
    As root the pool's workers run as `user`, else nobody (RUN_AS_USER).
    """

    def __init__(self, root, env, workers=2, binary=None, sock=None, wrapper=None,
                 user=None, socket_owner=None, mode=None):
        self.root = os.path.abspath(root)
        self.binary = os.path.abspath(binary or os.environ.get("COURSEGEN_BIN") or
                                      os.path.join(REPO, "src", "coursegen-status"))
        self.sock = sock or os.path.join(self.root, "fcgi.sock")
        self.pidfile = os.path.join(self.root, "service.pids")
        self.logfile = os.path.join(self.root, "service.log")
        self.workers = workers
        self.env = dict(env)
        if wrapper is None:
            wrapper = shlex.split(os.environ.get("COURSEGEN_WRAPPER", ""))
        self.wrapper = list(wrapper)
        self.user = user                  # run workers as this user (root only)
        self.socket_owner = socket_owner  # chown the socket to this user (root only)
        self.mode = mode or os.environ.get("COURSEGEN_MODE") or "pool"
        if self.mode not in ("pool", "spawn-fcgi"):
            raise HarnessError("unknown service mode %r" % self.mode)
        self.master = None
        self.pids = []

    def __repr__(self):
        return "Service(%s, %d workers)" % (self.sock, self.workers)

    def full_env(self):
        """The complete environment the workers get."""
        e = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
        for k, v in self.env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    def start(self):
        """Start the workers; returns self. Raises HarnessError (with the service log)
        when the binary is missing or a worker exits at once."""
        if self.pids:
            return self
        if not os.access(self.binary, os.X_OK):
            raise HarnessError("service binary %s not found or not executable "
                               "(build with make, or set COURSEGEN_BIN)" % self.binary)
        os.makedirs(os.path.dirname(self.sock), exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        for f in (self.pidfile, self.sock):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        if self.mode == "pool":
            return self._start_pool()
        cmd = ["spawn-fcgi", "-s", self.sock, "-F", str(self.workers), "-P", self.pidfile]
        if _is_root() and self.user:
            g = grp.getgrgid(pwd.getpwnam(self.user).pw_gid).gr_name
            cmd += ["-u", self.user, "-g", g]
        if _is_root() and self.socket_owner:
            g = grp.getgrgid(pwd.getpwnam(self.socket_owner).pw_gid).gr_name
            cmd += ["-U", self.socket_owner, "-G", g]
        cmd += ["--", "/bin/sh", "-c", 'log=$1; shift; exec "$@" 2>>"$log"', "sh",
                self.logfile] + self.wrapper + [self.binary]
        _Cleanup.add(self)
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.full_env(), cwd="/")
        self.pids = self._read_pids()
        if p.returncode != 0 or len(self.pids) != self.workers:
            err = p.stderr.strip()
            self.stop()
            raise HarnessError("spawn-fcgi failed (%d): %s\n--- service log ---\n%s" % (
                p.returncode, err, tail(self.logfile)))
        return self

    def _start_pool(self, timeout=15.0):
        env = self.full_env()
        if _is_root():
            env["RUN_AS_USER"] = self.user or env.get("RUN_AS_USER") or "nobody"
        cmd = self.wrapper + [self.binary, "--listen", "unix:" + self.sock,
                              "--workers", str(self.workers)]
        _Cleanup.add(self)
        with open(self.logfile, "ab") as log:
            self.master = subprocess.Popen(cmd, env=env, cwd="/", stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            self.pids = self._children()
            if len(self.pids) >= self.workers and os.path.exists(self.sock):
                return self
            if self.master.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise HarnessError("the pool did not start\n--- service log ---\n%s"
                                   % tail(self.logfile))
            time.sleep(0.05)

    def _children(self):
        """The pool master's current children (its workers)."""
        if self.master is None:
            return []
        pid = self.master.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def _read_pids(self):
        try:
            with open(self.pidfile) as f:
                return [int(x) for x in f.read().split() if x.strip().isdigit()]
        except OSError:
            return []

    def _ours(self, pid):
        """Guard against pid reuse: the process still runs our binary."""
        args = _cmdline(pid)
        return any(a == self.binary or os.path.basename(a) == os.path.basename(self.binary)
                   for a in args)

    def alive_pids(self):
        """Worker pids that are still running (the pool's: its current children)."""
        if self.mode == "pool":
            return [p for p in self._children() if _pid_alive(p)]
        return [p for p in self.pids if _pid_alive(p) and self._ours(p)]

    def leftover_pids(self):
        """Every process still holding the service socket (workers and their children)."""
        return _pids_holding_sockets(_unix_socket_inodes(self.sock)) - {os.getpid()}

    def stop(self, timeout=5.0):
        """SIGTERM the workers, SIGKILL what is left after `timeout` seconds, then make
        sure (via /proc) that no process holds the socket any more; remove the socket.
        Raises HarnessError if something survives SIGKILL."""
        targets = set(self.alive_pids()) | self.leftover_pids()
        if self.master is not None and self.master.poll() is None:
            # The master drains its workers and exits; wait for it first.
            self.master.send_signal(signal.SIGTERM)
            try:
                self.master.wait(timeout=timeout + 10)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()
        self.master = None
        for pid in targets:
            _signal(pid, signal.SIGTERM)
        left = _wait_gone(targets, timeout)
        for pid in left:
            _signal(pid, signal.SIGKILL)
        left = _wait_gone(left, 5)
        stray = self.leftover_pids()
        for pid in stray:
            _signal(pid, signal.SIGKILL)
        left |= _wait_gone(stray, 5)
        self.pids = []
        _Cleanup.remove(self)
        for f in (self.sock, self.pidfile):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        if left:
            raise HarnessError("service processes survived SIGKILL: %s" % sorted(left))

    def restart(self, workers=None, env=None):
        """Stop, then start with `workers` and `env` if given (env replaces self.env)."""
        self.stop()
        if workers is not None:
            self.workers = workers
        if env is not None:
            self.env = dict(env)
        return self.start()

    close = stop

    def log_text(self):
        """Everything the workers wrote to stderr so far."""
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


# ----------------------------------------------------------------------------- Nginx

class Nginx:
    """nginx in the foreground (`daemon off;`) serving the shipped nginx/ site config.

    The site config is copied with its listen address and socket path replaced
    (NGINX_LISTEN_PLACEHOLDER, NGINX_SOCKET_PLACEHOLDER); the locations file and the
    stock fastcgi_params are copied unchanged beside it, so its relative includes
    resolve. The main nginx.conf (pid, logs, temp paths) is generated in <root>.
    """

    def __init__(self, root, sock, port=None, conf_dir=NGINX_DIR, user=None, web_root=None):
        self.root = os.path.abspath(root)
        self.sock = sock
        # Static files served at WEB_LOCATION (the progress page), or None.
        self.web_root = os.path.abspath(web_root) if web_root else None
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.conf_dir = conf_dir
        self.conf = os.path.join(self.root, "nginx.conf")
        self.error_log = os.path.join(self.root, "error.log")
        self.access_log = os.path.join(self.root, "access.log")
        self.user = user
        self.proc = None

    def __repr__(self):
        return "Nginx(127.0.0.1:%d)" % self.port

    def write_config(self):
        """Write nginx.conf and the substituted site config into root; return the path
        of nginx.conf. Raises HarnessError if a placeholder is not found exactly once."""
        os.makedirs(os.path.join(self.root, "snippets"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "temp"), exist_ok=True)
        with open(os.path.join(self.conf_dir, SITE_CONF)) as f:
            site = f.read()
        for old, new in ((NGINX_LISTEN_PLACEHOLDER, "127.0.0.1:%d" % self.port),
                         (NGINX_SOCKET_PLACEHOLDER, self.sock)):
            n = _count_outside_comments(site, old)
            if n != 1:
                raise HarnessError("%s: expected %r once outside comments, found %d" % (
                    SITE_CONF, old, n))
            site = _replace_outside_comments(site, old, new)
        if self.web_root:
            if _count_outside_comments(site, NGINX_INCLUDE_ANCHOR) != 1:
                raise HarnessError("%s: expected %r once outside comments" % (
                    SITE_CONF, NGINX_INCLUDE_ANCHOR))
            web_conf = os.path.join(self.root, "web.conf")
            with open(web_conf, "w") as f:
                f.write("# generated by scripts/localstack.py: the progress page (web/)\n"
                        "location %(loc)s {\n"
                        "    alias %(web)s/;\n"
                        "    index index.html;\n"
                        "    types { text/html html; text/css css;\n"
                        "            application/javascript js; image/png png; }\n"
                        "    charset utf-8;\n"
                        "    charset_types text/css application/javascript;\n"
                        "    add_header Cache-Control no-store;\n"
                        "    add_header X-Content-Type-Options nosniff;\n"
                        "}\n" % {"loc": WEB_LOCATION, "web": self.web_root})
            site = _replace_outside_comments(site, NGINX_INCLUDE_ANCHOR,
                                             NGINX_INCLUDE_ANCHOR + " include %s;" % web_conf)
        with open(os.path.join(self.root, SITE_CONF), "w") as f:
            f.write(site)
        shutil.copy(os.path.join(self.conf_dir, LOCATIONS_CONF),
                    os.path.join(self.root, "snippets", LOCATIONS_CONF))
        shutil.copy("/etc/nginx/fastcgi_params", os.path.join(self.root, "fastcgi_params"))
        user_line = ""
        if _is_root():
            # Without `user`, a root master runs its workers as nobody. The workers
            # must reach the service socket in the stack's directory, which may sit
            # below a directory only root can enter: keep them as the invoking user
            # unless told otherwise.
            u = self.user or pwd.getpwuid(os.geteuid()).pw_name
            g = grp.getgrgid(pwd.getpwnam(u).pw_gid).gr_name
            user_line = "user %s %s;\n" % (u, g)
        t = os.path.join(self.root, "temp")
        with open(self.conf, "w") as f:
            f.write("""# generated by scripts/localstack.py
daemon off;
master_process on;
worker_processes 1;
%(user)spid %(root)s/nginx.pid;
error_log %(error_log)s info;
events { worker_connections 256; }
http {
    access_log %(access_log)s;
    client_body_temp_path %(t)s/client_body;
    fastcgi_temp_path %(t)s/fastcgi;
    proxy_temp_path %(t)s/proxy;
    uwsgi_temp_path %(t)s/uwsgi;
    scgi_temp_path %(t)s/scgi;
    include %(site)s;
}
""" % {"user": user_line, "root": self.root, "error_log": self.error_log,
                "access_log": self.access_log, "t": t,
                "site": os.path.join(self.root, SITE_CONF)})
        return self.conf

    def _cmd(self, *extra):
        return ["nginx", "-p", self.root + "/", "-c", self.conf, "-e", self.error_log] + \
            list(extra)

    def test_config(self):
        """Run `nginx -t` on the written config; raises HarnessError with its output."""
        p = subprocess.run(self._cmd("-t"), capture_output=True, text=True)
        if p.returncode != 0:
            raise HarnessError("nginx -t failed:\n" + p.stderr)
        return p.stderr

    def start(self, timeout=10.0):
        """Write the config, check it, start nginx and wait until the port answers."""
        if self.proc:
            return self
        for attempt in range(3):
            self.write_config()
            self.test_config()
            _Cleanup.add(self)
            with open(self.error_log, "ab") as err:
                self.proc = subprocess.Popen(self._cmd(), stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=err,
                                             start_new_session=True, cwd="/")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if port_open(self.port):
                    return self
                time.sleep(0.02)
            failed_log = tail(self.error_log)
            self.stop()
            if self.fixed_port or attempt == 2 or "Address already in use" not in failed_log:
                raise HarnessError("nginx did not start on 127.0.0.1:%d\n%s" % (
                    self.port, failed_log))
            self.port = free_port()
        return self

    def stop(self, timeout=5.0):
        """Graceful stop (SIGQUIT), then SIGTERM, then SIGKILL of the whole process group."""
        if not self.proc:
            _Cleanup.remove(self)
            return
        pgid = self.proc.pid   # session leader: its group holds the workers too
        for sig, wait in ((signal.SIGQUIT, timeout), (signal.SIGTERM, 3), (signal.SIGKILL, 3)):
            if self.proc.poll() is not None:
                break
            _signal(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)   # stray workers, if the master died hard
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None
        _Cleanup.remove(self)

    close = stop

    def log_text(self):
        return tail(self.error_log, 10 ** 6)


def _count_outside_comments(text, needle):
    return sum(line.split("#", 1)[0].count(needle) for line in text.splitlines())


def _replace_outside_comments(text, old, new):
    out = []
    for line in text.splitlines(keepends=True):
        code, sep, comment = line.partition("#")
        out.append(code.replace(old, new) + sep + comment)
    return "".join(out)


# ----------------------------------------------------------------------------- Simulator

def simulator_binary():
    """The simulator: $COURSEGEN_SIM, else sim/coursegen-simulate beside the service
    binary's build tree ($COURSEGEN_BIN/../../sim), else in the source tree."""
    env = os.environ.get("COURSEGEN_SIM")
    if env:
        return os.path.abspath(env)
    cands = []
    if os.environ.get("COURSEGEN_BIN"):
        build = os.path.dirname(os.path.dirname(os.path.abspath(os.environ["COURSEGEN_BIN"])))
        cands.append(os.path.join(build, "sim", "coursegen-simulate"))
    cands.append(os.path.join(os.getcwd(), "sim", "coursegen-simulate"))
    cands.append(os.path.join(REPO, "sim", "coursegen-simulate"))
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    raise HarnessError("simulator not found (build with make, or set COURSEGEN_SIM): %s"
                       % ", ".join(cands))


class Simulator:
    """sim/coursegen-simulate running on some courses, as the worker role.

    Its stdout (one JSON line per call it made: course, round, outcome, call, phase,
    metadata) goes to <logdir>/simulate-N.jsonl, its stderr to simulate-N.log.
    """

    count = 0

    def __init__(self, database_url, courses, logdir, args=(), binary=None):
        Simulator.count += 1
        self.binary = binary or simulator_binary()
        self.out = os.path.join(logdir, "simulate-%d.jsonl" % Simulator.count)
        self.err = os.path.join(logdir, "simulate-%d.log" % Simulator.count)
        os.makedirs(logdir, exist_ok=True)
        env = dict(os.environ, DATABASE_URL=database_url)
        cmd = [self.binary] + list(args) + list(courses)
        _Cleanup.add(self)
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd="/",
                                         start_new_session=True)

    def __repr__(self):
        return "Simulator(pid %d)" % self.proc.pid

    def wait(self, timeout):
        """Wait for the simulator to end; returns its exit status (HarnessError with its
        log on timeout)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("simulator still running after %ss\n%s" % (
                timeout, tail(self.err)))

    def calls(self):
        """The calls it made so far: a list of dicts (its stdout lines)."""
        try:
            with open(self.out, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        except OSError:
            return []

    def log_text(self):
        return tail(self.err, 10 ** 6)

    def close(self):
        """SIGTERM (it ends between two calls), then SIGKILL after 5 s."""
        _terminate(self.proc)
        _Cleanup.remove(self)

    stop = close


class PgBouncer:
    """Debian's pgbouncer in transaction mode in front of a Postgres (for the service
    role, whose password must be set), on 127.0.0.1, `pool` server connections per
    pool; stop() ends it. The one starter of the tests and the benchmark."""

    def __init__(self, root, pg, pool=4):
        exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.access(exe, os.X_OK):
            raise HarnessError("pgbouncer not installed (apt-get install pgbouncer)")
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o777)
        self.root, self.pg = root, pg
        self.port = free_port()
        pw = pg.passwords[SERVICE_ROLE]
        users = os.path.join(root, "users.txt")
        with open(users, "w") as f:
            f.write('"%s" "%s"\n' % (SERVICE_ROLE, pw))
        ini = os.path.join(root, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write("[databases]\n%s = host=127.0.0.1 port=%d dbname=%s\n"
                    "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n"
                    "unix_socket_dir =\nauth_type = scram-sha-256\nauth_file = %s\n"
                    "pool_mode = transaction\ndefault_pool_size = %d\nmax_client_conn = 1000\n"
                    "logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n"
                    "ignore_startup_parameters = extra_float_digits,options,application_name\n"
                    % (pg.dbname, pg.port, pg.dbname, self.port, users, pool, root, root))
        cmd = [exe, ini]
        if os.geteuid() == 0:
            cmd = [exe, "-u", "postgres", ini]
            os.chmod(users, 0o644)
        self.proc = None
        _Cleanup.add(self)
        with open(os.path.join(root, "stderr.log"), "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise HarnessError("pgbouncer did not start:\n" + tail(
                    os.path.join(root, "pgbouncer.log")) + tail(
                    os.path.join(root, "stderr.log")))
            time.sleep(0.05)

    def dsn(self, pw=None):
        pw = pw or self.pg.passwords[SERVICE_ROLE]
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (SERVICE_ROLE, pw, self.port,
                                                      self.pg.dbname)

    def psql(self, sql):
        """Run sql as another client of the pool (the service's role and database)."""
        return run_psql(["-d", self.dsn()], sql).strip()

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def stop(self):
        """SIGTERM, SIGKILL after 5 s."""
        _terminate(self.proc)
        _Cleanup.remove(self)

    close = stop


# ----------------------------------------------------------------------------- Stack

class Stack:
    """PostgreSQL (schema, role, sample data) + service workers + nginx, started by the
    constructor and stopped by close() / the with-statement / interpreter exit.

    Stack(workers=2, env=None, secret=DEFAULT_SECRET, port=None, root=None,
          database_url=None, apply_sql=True, sample=True, binary=None, nginx=True,
          web=False, mode=None, platform=None)

    root          directory for everything (default: a new temp dir, removed on close;
                  a given root is kept, its subdirectories recreated)
    database_url  use this database instead of a throwaway cluster (pg is None then);
                  apply_sql/sample say whether sql/ and sql/sample/ are applied to it
    env           extra service environment (value None removes a variable)
    web           also serve web/ (the progress page) at /progress/ (page_url())
    platform      the database is the Supabase stand-in (default unless
                  COURSEGEN_PLATFORM=0); false: a bare one, sql/ applied as superuser
    mode          "pool" (the service's own master, default) or "spawn-fcgi" (Service)

    With a throwaway cluster the worker role coursegen_worker (sql/005-worker-role.sql)
    gets a password too: worker_url connects as it, simulate() runs the simulator.
    """

    base = "/trpc"

    def __init__(self, workers=2, env=None, secret=DEFAULT_SECRET, port=None, root=None,
                 database_url=None, apply_sql=True, sample=True, binary=None, nginx=True,
                 web=False, mode=None, platform=None):
        _exit_on_sigterm()
        if platform is None:
            platform = os.environ.get("COURSEGEN_PLATFORM", "1") != "0"
        self.platform = platform
        self.web = web
        self.mode = mode
        self.worker_url = None
        self.simulators = []
        self.secret = secret
        self.extra_env = dict(env or {})
        self.own_root = root is None
        if root is None:
            root = tempfile.mkdtemp(prefix="coursegen-")
        self.root = os.path.abspath(root)
        self.pg = None
        self.pg_tmp = None
        self.service = None
        self.nginx = None
        self.database_url = database_url
        self.closed = False
        _Cleanup.add(self)
        try:
            self._start(workers, port, apply_sql, sample, binary, nginx)
        except BaseException:
            self.close()
            raise

    def _start(self, workers, port, apply_sql, sample, binary, nginx):
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)  # the postgres user must reach <root>/pg
        for sub in ("pg", "run", "nginx", "log"):
            shutil.rmtree(os.path.join(self.root, sub), ignore_errors=True)
        if self.database_url is None:
            pg_root = os.path.join(self.root, "pg")
            if not _reachable_by_pg_user(self.root):
                # e.g. ./run in a checkout below a 0700 directory: the postgres user
                # cannot enter it, so the cluster goes to a temporary directory.
                self.pg_tmp = pg_root = tempfile.mkdtemp(prefix="coursegen-pg-")
                os.chmod(pg_root, 0o755)
            self.pg = Postgres(pg_root).start()
            if apply_sql:
                # The database is a Supabase stand-in unless platform is false (a
                # bare database, sql/ applied by the superuser).
                if self.platform:
                    self.pg.apply_sql_dir(SQL_DIR, user=self.pg.make_platform())
                else:
                    self.pg.apply_sql_dir(SQL_DIR)
                if sample:
                    self.pg.apply_sql_dir(SAMPLE_DIR)
                self.pg.set_password(SERVICE_ROLE)
                if self.pg.psql("SELECT 1 FROM pg_roles WHERE rolname = '%s'"
                                % WORKER_ROLE).strip():
                    self.pg.set_password(WORKER_ROLE)
                    self.worker_url = self.pg.dsn_for(WORKER_ROLE)
            self.database_url = self.pg.dsn
        elif apply_sql:
            for d in ([SQL_DIR, SAMPLE_DIR] if sample else [SQL_DIR]):
                for f in sql_files(d):
                    with open(f, encoding="utf-8") as fh:
                        run_psql(["-d", self.database_url], fh.read())
        self.service = Service(os.path.join(self.root, "log"), self._service_env(),
                               workers=workers, binary=binary,
                               sock=os.path.join(self.root, "run", "fcgi.sock"),
                               mode=self.mode)
        self.service.start()
        if nginx:
            self.nginx = Nginx(os.path.join(self.root, "nginx"), self.service.sock,
                               port=port, web_root=WEB_DIR if self.web else None).start()

    def _service_env(self, extra=None):
        # The suites send one user's calls far faster than any front end polls:
        # the rate limiter is off unless a test turns it on (test_66_ratelimit).
        e = {"DATABASE_URL": self.database_url, "JWT_SECRET": self.secret,
             "RATE_LIMIT": "0"}
        e.update(self.extra_env)
        e.update(extra or {})
        return e

    # -- lifecycle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop nginx, the workers and PostgreSQL (in that order) and remove the
        temporary directory (kept if COURSEGEN_KEEP_TMP=1 or the root was given)."""
        if self.closed:
            return
        self.closed = True
        errors = []
        for part in list(self.simulators) + [self.nginx, self.service, self.pg]:
            if part is None:
                continue
            try:
                part.close()
            except Exception as e:
                errors.append("%r: %s" % (part, e))
        _Cleanup.remove(self)
        if os.environ.get("COURSEGEN_KEEP_TMP") != "1":
            if self.own_root:
                shutil.rmtree(self.root, ignore_errors=True)
            if self.pg_tmp:
                shutil.rmtree(self.pg_tmp, ignore_errors=True)
        if errors:
            raise HarnessError("; ".join(errors))

    def restart_service(self, workers=None, env=None):
        """Restart the workers with the construction env plus `env` (not cumulative:
        restart_service() goes back to the construction env)."""
        self.service.restart(workers=workers, env=self._service_env(env))

    # -- properties

    @property
    def port(self):
        return self.nginx.port if self.nginx else None

    @property
    def url(self):
        """http://127.0.0.1:PORT"""
        return "http://127.0.0.1:%d" % self.port

    @property
    def service_env(self):
        """The complete environment of the workers (to run the binary yourself, e.g.
        as CGI: subprocess.run([stack.service.binary], env={**stack.service_env, ...}))."""
        return self.service.full_env()

    def page_url(self, courses, user=None, token=None):
        """URL of the progress page for these courses, the token in the fragment (so
        it never reaches a server log). Needs Stack(web=True)."""
        if token is None:
            token = self.token(user)
        q = "&".join("course=" + urllib.parse.quote(c) for c in courses)
        return "%s%s?%s#token=%s" % (self.url, WEB_LOCATION, q, token)

    def create_course(self, course_id, user_id, title="Simulated course", organization_id=None):
        """Insert a course nobody has sent to generation yet (superuser)."""
        self.psql("INSERT INTO courses (id, user_id, organization_id, title) "
                  "VALUES ('%s', '%s', %s, $t$%s$t$)" % (
                      course_id, user_id,
                      "'%s'" % organization_id if organization_id else "NULL", title))

    def simulate(self, courses, *args):
        """Start sim/coursegen-simulate as coursegen_worker on `courses`
        ("UUID" or "UUID:outcome") with extra command-line `args`; returns the
        Simulator (stopped by close() at the latest)."""
        if not self.worker_url:
            raise HarnessError("no worker role: sql/005-worker-role.sql not applied")
        sim = Simulator(self.worker_url, courses, os.path.join(self.root, "log"), args)
        self.simulators.append(sim)
        return sim

    def service_log(self):
        return self.service.log_text()

    def nginx_log(self):
        return self.nginx.log_text() if self.nginx else ""

    # -- database and tokens

    def psql(self, sql, user=SUPERUSER):
        """Run SQL on the service's database (superuser by default); return stdout."""
        if self.pg is not None:
            return self.pg.psql(sql, user=user)
        return run_psql(["-d", self.database_url], sql)

    def token(self, user_id, secret=None, alg="HS256", header_extra=None, ttl=3600,
              **claims):
        """A JWT for `user_id`: claims user_id, sub, role, iat, exp(now+ttl), then
        `claims` (a value None removes that claim). Signed with the stack's secret
        unless `secret` is given."""
        c = standard_claims(user_id, ttl)
        for k, v in claims.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return mint(self.secret if secret is None else secret, c, alg, header_extra)

    def auth(self, user_id, **kw):
        """{'Authorization': 'Bearer <token(user_id, **kw)>'}"""
        return {"Authorization": "Bearer " + self.token(user_id, **kw)}

    # -- HTTP

    def _path(self, path):
        return path if path.startswith("/") else self.base + "/" + path

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One HTTP request to nginx; returns (status, headers, body): headers a dict
        with lower-case names (repeated headers joined by ', '), body bytes. A path
        without a leading '/' is relative to base ('generation.getStatus?...').
        A dict/list body is sent as JSON, with Content-Type application/json unless
        the headers name one; str is sent UTF-8 encoded; no Content-Type otherwise."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, self._path(path), body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            h = {}
            for k, v in resp.getheaders():
                k = k.lower()
                h[k] = (h[k] + ", " + v) if k in h else v
            return resp.status, h, data
        finally:
            conn.close()

    def get(self, path_and_query, headers=None):
        return self.request("GET", path_and_query, headers=headers)

    def post(self, path, body, headers=None):
        return self.request("POST", path, body=body, headers=headers)

    def raw(self, data, timeout=10):
        """Send raw bytes to nginx and return everything it answers until it closes
        (for requests http.client will not produce)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    break
                if not c:
                    break
                chunks.append(c)
            return b"".join(chunks)


# ----------------------------------------------------------------------------- serve

# Sample users and courses (sql/sample/001-sample-data.sql).
ALICE = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"
CAROL = "33333333-3333-4333-8333-333333333333"
DAVE = "44444444-4444-4444-8444-444444444444"
COURSE_GENERATING = "123e4567-e89b-12d3-a456-426614174000"
COURSE_SECTIONS = "00000000-0000-4000-8000-000000000006"
COURSE_COMPLETED = "00000000-0000-4000-8000-000000000009"
COURSE_FAILED = "00000000-0000-4000-8000-00000000000a"
COURSE_ORG = "00000000-0000-4000-8000-00000000000c"
COURSE_OTHER_USER = "00000000-0000-4000-8000-00000000000d"
COURSE_MISSING = "99999999-9999-4999-8999-999999999999"
DEV_SECRET = "coursegen-dev-secret-not-for-production"


def _curl_examples(url, secret, secret_arg=None):
    """Shell lines to paste: token variables, then one curl per interesting case."""
    def tok(user):
        return mint(secret, standard_claims(user, ttl=12 * 3600))

    ep = url + "/trpc/generation.getStatus"

    def get(label, var, course):
        return "# %s\ncurl -s -w '\\n%%{http_code}\\n' -H \"Authorization: Bearer $%s\" \\\n  '%s?%s'\n" % (
            label, var, ep, input_query({"courseId": course}))

    batch_q = input_query({"0": {"courseId": COURSE_GENERATING},
                           "1": {"courseId": COURSE_OTHER_USER}}, batch=True)
    return "\n".join([
        "# tokens, valid 12 h (users of sql/sample/001-sample-data.sql)",
        "ALICE='%s'" % tok(ALICE),
        "BOB='%s'" % tok(BOB),
        "",
        get("generating (the contract example)", "ALICE", COURSE_GENERATING),
        get("generating, sections 3/8", "ALICE", COURSE_SECTIONS),
        get("completed", "ALICE", COURSE_COMPLETED),
        get("failed, retryable", "ALICE", COURSE_FAILED),
        get("organization course, read by a member who is not the owner", "BOB", COURSE_ORG),
        get("FORBIDDEN: another user's course", "ALICE", COURSE_OTHER_USER),
        get("NOT_FOUND", "ALICE", COURSE_MISSING),
        "# UNAUTHORIZED: no token\ncurl -s -w '\\n%%{http_code}\\n' '%s?%s'\n" % (
            ep, input_query({"courseId": COURSE_GENERATING})),
        "# batch of two: generating + FORBIDDEN -> 207\n"
        "curl -s -w '\\n%%{http_code}\\n' -H \"Authorization: Bearer $ALICE\" \\\n"
        "  '%s,generation.getStatus?%s'\n" % (ep, batch_q),
        "# POST\ncurl -s -w '\\n%%{http_code}\\n' -H \"Authorization: Bearer $ALICE\" "
        "-H 'Content-Type: application/json' \\\n  -d '{\"courseId\":\"%s\"}' '%s'\n" % (
            COURSE_COMPLETED, ep),
        "# a token for another user (dave: no organization, no course), valid 1 h\n"
        "python3 scripts/mint_token.py %s --sub %s\n" % (
            secret_arg or "--secret " + shlex.quote(secret), DAVE),
    ])


# Courses the simulator drives in ./run (owner alice), with their outcome each round.
LIVE_COURSES = [
    ("5e000000-0000-4000-8000-000000000001", "Live: Python for analysts", "complete"),
    ("5e000000-0000-4000-8000-000000000002", "Live: Intro to statistics", "complete"),
    ("5e000000-0000-4000-8000-000000000003", "Live: SQL in practice", "fail"),
    ("5e000000-0000-4000-8000-000000000004", "Live: Team leadership", "random"),
]


def _start_live(stack, secret, state):
    """./run: the simulator on LIVE_COURSES, round after round (SIMULATE=0: not
    started; SIM_PACE=ms per batch, default 1500). Prints the progress page URL and the
    terminal view command; writes <state>/live.json for sim/watch.py. Returns the
    Simulator or None."""
    if os.environ.get("SIMULATE") == "0" or not stack.worker_url:
        return None
    for cid_, title, _ in LIVE_COURSES:
        stack.psql("DELETE FROM courses WHERE id = '%s'" % cid_)
        stack.create_course(cid_, ALICE, title)
    pace = os.environ.get("SIM_PACE") or "1500"
    try:
        sim = stack.simulate(["%s:%s" % (c, o) for c, _, o in LIVE_COURSES],
                             "--quiet", "--pace", pace, "--batches", "5-8",
                             "--repeat", "10000", "--stagger", "2500")
    except HarnessError as e:
        print("simulator not started: %s" % e, file=sys.stderr)
        return None
    token = mint(secret, standard_claims(ALICE, ttl=12 * 3600))
    courses = [c for c, _, _ in LIVE_COURSES]
    with open(os.path.join(state, "live.json"), "w") as f:
        json.dump({"url": stack.url, "base": stack.base, "token": token,
                   "courses": courses}, f)
    print("\n# live: the simulator (sim/coursegen-simulate, as role coursegen_worker) runs "
          "%d courses, round after round; log %s" % (len(courses), sim.err))
    print("# progress page (polls every 2 s; reload it to follow a new round):\n%s\n"
          % stack.page_url(courses, token=token))
    print("# terminal view of the same courses (another terminal):\npython3 sim/watch.py "
          "--live %s\n" % shlex.quote(os.path.join(os.path.abspath(state), "live.json")),
          flush=True)
    return sim


def serve(argv):
    """`localstack.py serve`: the stack on 127.0.0.1:$PORT until Ctrl-C (used by ./run)."""
    import argparse
    p = argparse.ArgumentParser(prog="localstack.py serve")
    p.add_argument("--state", default=os.environ.get("STATE_DIR") or os.path.join(REPO, ".state"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8080))
    p.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS") or 2))
    a = p.parse_args(argv)
    env = {k: os.environ[k] for k in SERVICE_VARS
           if k in os.environ and k not in ("DATABASE_URL", "JWT_SECRET")}
    env.setdefault("RATE_LIMIT", None)   # the local run: the shipped default
    secret_file = os.environ.get("JWT_SECRET_FILE")
    if secret_file and not os.environ.get("JWT_SECRET"):
        with open(secret_file, "rb") as f:
            secret = f.read().decode("utf-8")
        secret = secret[:-1] if secret.endswith("\n") else secret
        env["JWT_SECRET"] = None   # the service reads the file itself
    else:
        secret = os.environ.get("JWT_SECRET") or DEV_SECRET
    database_url = os.environ.get("DATABASE_URL") or None
    apply_sql = database_url is None or os.environ.get("APPLY_SQL") == "1"
    sample = database_url is None or os.environ.get("APPLY_SAMPLE") == "1"
    if port_open(a.port):
        sys.stderr.write("port %d on 127.0.0.1 is in use: set PORT\n" % a.port)
        return 1
    # One server per state directory: a second one would wipe the first one's cluster.
    os.makedirs(a.state, exist_ok=True)
    lock = open(os.path.join(a.state, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.stderr.write("%s is in use by another ./run: stop it or set STATE_DIR\n"
                         % a.state)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    print("starting in %s ..." % a.state, flush=True)
    stack = Stack(workers=a.workers, env=env, secret=secret, port=a.port, root=a.state,
                  database_url=database_url, apply_sql=apply_sql, sample=sample, web=True)
    try:
        url = stack.url
        print("\ncoursegen-status is up: %s%s/generation.getStatus (%d workers)" % (
            url, stack.base, a.workers))
        if stack.pg:
            print("database: throwaway cluster in %s, superuser shell:\n  psql -h %s -p %d -U postgres %s"
                  % (stack.pg.root, stack.pg.sockdir, stack.pg.port, DB_NAME))
        else:
            print("database: DATABASE_URL (%s)" % ("sql/ applied" if apply_sql else "nothing applied"))
        if os.environ.get("JWT_SECRET") or secret_file:
            print("JWT secret: from %s" % ("JWT_SECRET" if os.environ.get("JWT_SECRET")
                                           else "JWT_SECRET_FILE"))
        else:
            print("JWT secret: the fixed DEVELOPMENT secret %r (set JWT_SECRET to change)" % secret)
        print("logs: %s  %s\n" % (stack.service.logfile, stack.nginx.error_log))
        secret_arg = ("--secret-file " + shlex.quote(os.path.abspath(secret_file))
                      if secret_file and not os.environ.get("JWT_SECRET") else None)
        if sample:
            print(_curl_examples(url, secret, secret_arg))
        else:
            print("# a token (valid 1 h) and a call; put a user and a course of your database\n"
                  "TOKEN=$(python3 scripts/mint_token.py %s --sub USER-UUID)\n"
                  "curl -s -w '\\n%%{http_code}\\n' -H \"Authorization: Bearer $TOKEN\" \\\n"
                  "  '%s/trpc/generation.getStatus?input=%%7B%%22courseId%%22%%3A%%22COURSE-UUID%%22%%7D'\n"
                  % (secret_arg or "--secret " + shlex.quote(secret), url))
        live = _start_live(stack, secret, a.state) if sample else None
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(1.0):
            if live and live.proc.poll() is not None:
                print("the simulator exited (%s); see %s" % (live.proc.returncode, live.err),
                      file=sys.stderr)
                live = None
            if stack.nginx.proc.poll() is not None:
                print("nginx exited; stopping", file=sys.stderr)
                return 1
            if not stack.service.alive_pids():
                print("all service workers exited; see %s" % stack.service.logfile,
                      file=sys.stderr)
                return 1
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stack.close()
        print("stopped.", flush=True)


def main(argv):
    if len(argv) >= 1 and argv[0] == "serve":
        try:
            return serve(argv[1:])
        except HarnessError as e:
            sys.stderr.write("error: %s\n" % e)
            return 1
    sys.stderr.write("usage: localstack.py serve [--state DIR] [--port N] [--workers N]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
