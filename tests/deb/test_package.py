#!/usr/bin/env python3
"""tests/deb/test_package.py DEB: the built Debian package on this machine, end to end.

Called by tests/deb/run after the build and lintian; runs as root on a Debian 12
machine where the package is not installed. Each step asserts what an administrator
relies on:

  install   apt-get install ./DEB: the program, the man page, the unit installed but
            not enabled and nothing started, the system user and group, the conffile
            root:_coursegen 0640, the web server configs and the SQL, no simulator;
            the unconfigured service refuses to start (--check-config).
  configure a throwaway PostgreSQL (tests/localstack.py) with the INSTALLED sql/ applied,
            DATABASE_URL and JWT_SECRET written into the conffile; --check-config as
            the service user; the service started as its unit says (systemctl when
            systemd runs, else the unit's ExecStart with its RuntimeDirectory), its
            workers as _coursegen; nginx with the INSTALLED site and snippet (the
            localstack's Nginx, conf_dir /usr/share/coursegen-status/nginx, workers as
            www-data) serves real requests; a2enconf enables the Apache config and
            apache2 -t accepts it.
  reinstall apt-get install --reinstall (what an upgrade runs): the settings stay; an
            administrator's dpkg-statoverride on the conffile is respected, and
            without one the file is root:_coursegen 0640 again; nothing started.
  remove    apt-get remove: the program is gone, the conffile (with our settings)
            and the user stay, the Apache config is disabled.
  purge     apt-get purge: nothing whose name contains "coursegen" is left under /etc,
            /lib, /usr, /var/lib or /run that was not there before, no user or group
            _coursegen, no statoverride.

Whatever happens, the package is purged and everything started is stopped at the end.
"""

import glob
import grp
import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(os.path.dirname(TESTS), "scripts"))
import localstack  # noqa: E402
from mint_token import mint, standard_claims  # noqa: E402

PKG = "coursegen-status"
USER = "_coursegen"
BIN = "/usr/sbin/coursegen-status"
CONF = "/etc/coursegen-status/coursegen-status.conf"
UNIT = "/lib/systemd/system/coursegen-status.service"
SHARE = "/usr/share/coursegen-status"
SOCK = "/run/coursegen-status/fcgi.sock"
APACHE_AVAILABLE = "/etc/apache2/conf-available/coursegen-status.conf"
APACHE_ENABLED = "/etc/apache2/conf-enabled/coursegen-status.conf"
SCAN = ("/etc", "/lib", "/usr", "/var/lib", "/run")
SECRET = "deb-test-secret-" + os.urandom(8).hex()
ALICE = "11111111-1111-4111-8111-111111111111"
COMPLETED = "00000000-0000-4000-8000-000000000009"
SYSTEMD = os.path.isdir("/run/systemd/system")

failures = []


def step(msg):
    print("deb-test: " + msg, flush=True)


def check(cond, what):
    """Record a failed assertion (the run goes on, so one run shows every problem)."""
    if cond:
        print("  ok   " + what, flush=True)
    else:
        print("  FAIL " + what, flush=True)
        failures.append(what)
    return cond


def run(cmd, check_rc=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s exited %d\n%s%s" % (" ".join(cmd), p.returncode,
                                                   p.stdout, p.stderr))
    return p


def apt(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return run(["apt-get", "-o", "DPkg::Lock::Timeout=900", "-y", "-q"] + list(args),
               env=env)


def pkg_status():
    p = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PKG], check_rc=False)
    return p.stdout.strip() if p.returncode == 0 else "not-known"


def named_paths():
    """Every path under SCAN whose name contains 'coursegen' (not below one found)."""
    found = set()
    for top in SCAN:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                if "coursegen" in name:
                    found.add(os.path.join(dirpath, name))
            dirnames[:] = [d for d in dirnames if "coursegen" not in d
                           and not os.path.islink(os.path.join(dirpath, d))]
    return found


def account_lines():
    lines = set()
    for f in ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"):
        try:
            with open(f) as fh:
                lines |= {"%s:%s" % (f, line.split(":")[0]) for line in fh
                          if "coursegen" in line}
        except OSError:
            pass
    return lines


def our_processes():
    """pids running the installed binary (other tests on the machine run build trees)."""
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            if os.readlink(d + "/exe") == BIN:
                pids.append(int(os.path.basename(d)))
        except OSError:
            pass
    return pids


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    raise RuntimeError("timed out after %d s waiting for %s" % (timeout, what))


def unit_value(key):
    with open(UNIT) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.split("=", 1)[1].strip()
    return None


def get(port, path, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Started:
    """The service started the way its unit starts it."""

    def __init__(self, log):
        self.proc = None
        self.log = log

    def start(self):
        if SYSTEMD:
            run(["systemctl", "start", PKG])
        else:
            runtime = unit_value("RuntimeDirectory")
            mode = int(unit_value("RuntimeDirectoryMode") or "0755", 8)
            os.makedirs("/run/" + runtime, exist_ok=True)
            os.chmod("/run/" + runtime, mode)
            cmd = unit_value("ExecStart").split()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=log, start_new_session=True, cwd="/")
        wait_for(lambda: os.path.exists(SOCK) or (self.proc and self.proc.poll() is not None),
                 30, SOCK)
        if not os.path.exists(SOCK):
            raise RuntimeError("the service exited: %s" % localstack.tail(self.log))
        return self

    def stop(self):
        if SYSTEMD:
            run(["systemctl", "stop", PKG], check_rc=False)
        elif self.proc is not None:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(40)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
            self.proc = None
            runtime = "/run/" + unit_value("RuntimeDirectory") if os.path.exists(UNIT) else None
            if runtime and os.path.isdir(runtime):   # what systemd does at stop
                for f in os.listdir(runtime):
                    os.unlink(os.path.join(runtime, f))
                os.rmdir(runtime)


def test_install(deb):
    step("apt-get install %s" % os.path.basename(deb))
    apt("install", "--no-install-recommends", deb)
    check(pkg_status() == "ii", "dpkg says installed (ii)")
    v = run([BIN, "--version"]).stdout.strip()
    deb_version = run(["dpkg-query", "-W", "-f", "${Version}", PKG]).stdout
    check(v == "coursegen-status " + deb_version.split("-")[0],
          "%s --version (%s) is the package's upstream version (%s)" % (BIN, v, deb_version))
    check(os.path.exists("/usr/share/man/man8/coursegen-status.8.gz"), "man page coursegen-status(8)")
    check(os.path.exists(UNIT), "systemd unit " + UNIT)
    check(unit_value("ExecStart") == BIN + " -c " + CONF, "the unit starts %s -c %s" % (BIN, CONF))
    enabled = run(["systemctl", "is-enabled", PKG], check_rc=False).stdout.strip()
    check(enabled == "disabled", "the unit is not enabled (systemctl is-enabled: %s)" % enabled)
    check(not glob.glob("/etc/systemd/system/*.wants/coursegen-status.service"),
          "no .wants symlink for the unit")
    check(our_processes() == [], "nothing runs %s after the install" % BIN)
    if SYSTEMD:
        active = run(["systemctl", "is-active", PKG], check_rc=False).stdout.strip()
        check(active == "inactive", "the service is not active (%s)" % active)
    try:
        pw = pwd.getpwnam(USER)
        gr = grp.getgrnam(USER)
        check(pw.pw_uid < 1000 and pw.pw_gid == gr.gr_gid,
              "system user %s (uid %d) with its group" % (USER, pw.pw_uid))
        check(pw.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin"), "no login shell")
    except KeyError:
        check(False, "system user and group %s exist" % USER)
    st = os.stat(CONF)
    check(st.st_uid == 0 and grp.getgrgid(st.st_gid).gr_name == USER
          and stat.S_IMODE(st.st_mode) == 0o640, "%s is root:%s 0640" % (CONF, USER))
    conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", PKG]).stdout
    check(CONF in conffiles, "%s is a conffile" % CONF)
    check(APACHE_AVAILABLE in conffiles, "%s is a conffile" % APACHE_AVAILABLE)
    check(not os.path.exists(APACHE_ENABLED), "the Apache config is not enabled by the package")
    for f in ("nginx/coursegen-status.conf", "nginx/coursegen-status-locations.conf",
              "apache/coursegen-status-fcgid.conf", "apache/coursegen-status-cgi.conf",
              "sql/001-schema.sql", "sql/003-role.sql", "sql/005-worker-role.sql"):
        check(os.path.isfile(os.path.join(SHARE, f)), os.path.join(SHARE, f))
    files = run(["dpkg", "-L", PKG]).stdout
    check("simulate" not in files and "watch.py" not in files,
          "neither the simulator nor the terminal view is in the package")
    p = run(["runuser", "-u", USER, "--", BIN, "-c", CONF, "--check-config"], check_rc=False)
    check(p.returncode != 0 and "DATABASE_URL is not set" in p.stderr,
          "unconfigured, the service refuses to start (--check-config: %s)"
          % p.stderr.strip().splitlines()[-1:])
    p = run(["runuser", "-u", "nobody", "--", "cat", CONF], check_rc=False)
    check(p.returncode != 0, "another user cannot read the conffile")


def test_configure(work, src_sql_sample):
    step("configure: throwaway PostgreSQL with the installed sql/, the conffile")
    pg = localstack.Postgres(os.path.join(work, "pg")).start()
    try:
        pg.apply_sql_dir(os.path.join(SHARE, "sql"))
        pg.apply_sql_dir(src_sql_sample)
        pg.set_password(localstack.SERVICE_ROLE)
        with open(CONF, "a") as f:   # in place: owner and mode stay
            f.write("\n# written by tests/deb/test_package.py\nDATABASE_URL=%s\nJWT_SECRET=%s\n"
                    % (pg.dsn, SECRET))
        p = run(["runuser", "-u", USER, "--", BIN, "-c", CONF, "--check-config"],
                check_rc=False)
        check(p.returncode == 0, "--check-config as %s passes (%s)" % (USER, p.stderr.strip()))

        step("start the service as its unit does (%s)" % ("systemctl" if SYSTEMD else "ExecStart"))
        svc = Started(os.path.join(work, "service.log")).start()
        nginx = None
        try:
            st = os.stat(SOCK)
            check(grp.getgrgid(st.st_gid).gr_name == "www-data"
                  and stat.S_IMODE(st.st_mode) == 0o660, "%s is group www-data, 0660" % SOCK)
            pids = our_processes()
            users = sorted({pwd.getpwuid(os.stat("/proc/%d" % p).st_uid).pw_name for p in pids})
            check(users == ["_coursegen", "root"],
                  "master as root, workers as %s (%s)" % (USER, users))

            step("nginx with the installed site and snippet")
            nginx = localstack.Nginx(os.path.join(work, "nginx"), SOCK,
                                  conf_dir=os.path.join(SHARE, "nginx"), user="www-data").start()
            token = mint(SECRET, standard_claims(ALICE))
            q = "input=" + urllib.parse.quote(json.dumps({"courseId": COMPLETED}), safe="")
            status, body = get(nginx.port, "/trpc/generation.getStatus?" + q,
                               {"Authorization": "Bearer " + token})
            data = json.loads(body) if body.startswith("{") else {}
            res = data.get("result", {}).get("data", {})
            check(status == 200 and res.get("courseId") == COMPLETED
                  and res.get("status") == "completed",
                  "GET generation.getStatus through nginx: 200, completed (%d %s)"
                  % (status, body[:120]))
            status, body = get(nginx.port, "/trpc/generation.getStatus?" + q)
            check(status == 401 and '"UNAUTHORIZED"' in body,
                  "without a token: 401 UNAUTHORIZED (%d)" % status)
            status, body = get(nginx.port, "/healthz")
            check(status == 200, "/healthz: 200 (%d %s)" % (status, body))
        finally:
            if nginx:
                nginx.stop()
            svc.stop()
        wait_for(lambda: our_processes() == [], 30, "the service's processes to exit")
    finally:
        pg.close()

    if os.path.exists("/usr/sbin/a2enconf"):
        step("Apache: a2enconf coursegen-status, apache2 -t")
        run(["a2enconf", "-q", PKG])
        check(os.path.islink(APACHE_ENABLED), "a2enconf %s enables it" % PKG)
        p = run(["apache2ctl", "-t"], check_rc=False)
        check(p.returncode == 0, "apache2ctl -t accepts it (%s)" % p.stderr.strip()[-200:])


def conf_state():
    st = os.stat(CONF)
    with open(CONF) as f:
        configured = "JWT_SECRET=" + SECRET in f.read()
    return grp.getgrgid(st.st_gid).gr_name, stat.S_IMODE(st.st_mode), configured


def test_reinstall(deb):
    step("reinstall (the upgrade path) with and without a dpkg-statoverride")
    run(["dpkg-statoverride", "--update", "--add", "root", "www-data", "0640", CONF])
    try:
        apt("install", "--reinstall", deb)
        check(conf_state() == ("www-data", 0o640, True),
              "the administrator's statoverride (root:www-data) and the settings survive "
              "(%s)" % (conf_state(),))
    finally:
        run(["dpkg-statoverride", "--remove", CONF])
    apt("install", "--reinstall", deb)
    check(conf_state() == (USER, 0o640, True),
          "without it, root:%s 0640 again, settings kept (%s)" % (USER, conf_state()))
    check(our_processes() == [], "the reinstall started nothing")


def test_remove():
    step("apt-get remove")
    apt("remove", PKG)
    check(pkg_status() == "rc", "dpkg says removed, config files kept (rc)")
    check(not os.path.exists(BIN), BIN + " is gone")
    check(not os.path.exists(UNIT), UNIT + " is gone")
    try:
        with open(CONF) as f:
            kept = "JWT_SECRET=" + SECRET in f.read()
    except OSError:
        kept = False
    check(kept, "the conffile is kept, with the settings written into it")
    check(not os.path.lexists(APACHE_ENABLED), "the Apache config is disabled")


def test_purge(before_paths, before_accounts):
    step("apt-get purge")
    apt("purge", PKG)
    check(pkg_status() in ("not-known", "un", "pn"), "dpkg knows nothing of it (%s)" % pkg_status())
    left = sorted(named_paths() - before_paths)
    check(not left, "nothing named coursegen is left: %s" % left)
    accounts = sorted(account_lines() - before_accounts)
    check(not accounts, "no user or group left: %s" % accounts)
    over = run(["dpkg-statoverride", "--list"], check_rc=False).stdout
    check("coursegen" not in over, "no statoverride left")


def main(argv):
    if len(argv) != 2 or not argv[1].endswith(".deb"):
        print("usage: test_package.py PATH/coursegen-status_VERSION_ARCH.deb", file=sys.stderr)
        return 2
    deb = os.path.abspath(argv[1])
    if os.geteuid() != 0:
        print("test_package.py: must run as root (it installs the package)", file=sys.stderr)
        return 2
    if pkg_status() not in ("not-known", "un", "pn"):
        print("test_package.py: %s is installed already (%s): purge it first"
              % (PKG, pkg_status()), file=sys.stderr)
        return 2
    before_paths = named_paths()
    before_accounts = account_lines()
    work = tempfile.mkdtemp(prefix="coursegen-deb-")
    os.chmod(work, 0o755)   # the postgres user must reach the cluster
    sample = os.path.join(os.path.dirname(TESTS), "sql", "sample")
    try:
        test_install(deb)
        test_configure(work, sample)
        test_reinstall(deb)
        test_remove()
        test_purge(before_paths, before_accounts)
    except Exception as e:   # noqa: BLE001 - report, purge, fail
        failures.append("%s: %s" % (type(e).__name__, e))
        print("deb-test: ERROR %s" % e, flush=True)
    finally:
        if pkg_status() not in ("not-known", "un", "pn"):
            step("cleanup: purging what a failed step left installed")
            subprocess.run(["apt-get", "-y", "-q", "purge", PKG], capture_output=True)
        if not failures:
            subprocess.run(["rm", "-rf", work])
    if failures:
        print("deb-test: FAIL (%d): %s (work dir %s)" % (len(failures), "; ".join(failures), work))
        return 1
    print("deb-test: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
