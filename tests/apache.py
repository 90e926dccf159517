"""apache.py: the service in its other deployments, for the end-to-end tests.

Apache(root, mode, settings, mpm="prefork", extra=())
                              a real Apache httpd (Debian's apache2) on 127.0.0.1 with
                              the shipped apache/coursegen-status-<mode>.conf included,
                              mode "fcgid" (mod_fcgid; the service serves FastCGI on fd
                              0) or "cgi" (one process per request). mpm "prefork": a
                              minimal prefork server with mod_cgi. mpm "event": Apache
                              as Debian installs it: the event MPM and Debian's default
                              modules, each with its own .load and .conf from
                              /etc/apache2/mods-available, Debian's apache2.conf
                              settings, and "a2enmod cgi" giving mod_cgid (as it does on
                              a threaded MPM), or mod_fcgid with Debian's fcgid.conf.
                              Both load mod_headers, as the configs' install lines say.
                              `extra`: more global directives.
Pool(root, sock, env, ...)    the service's own master: coursegen-status --listen
                              unix:SOCK --workers N, as a child of the test.

Both stop everything they start (close(), or at interpreter exit through localstack's
cleanup). The settings reach Apache's children through a settings file named by
COURSEGEN_CONFIG, exactly as the shipped configs do it.
"""

import os
import shutil
import signal
import subprocess
import time

import localstack

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APACHE_DIR = os.path.join(REPO, "apache")
MODULES = "/usr/lib/apache2/modules"
DEBIAN_MODS = "/etc/apache2/mods-available"
# What a fresh Debian apache2 enables (its postinst), the MPM aside.
DEBIAN_DEFAULT_MODS = ("access_compat", "alias", "auth_basic", "authn_core", "authn_file",
                       "authz_core", "authz_host", "authz_user", "autoindex", "deflate",
                       "dir", "env", "filter", "mime", "negotiation", "reqtimeout",
                       "setenvif", "status")
# The global settings of Debian's apache2.conf that matter to a request.
DEBIAN_GLOBALS = ("Timeout 300", "KeepAlive On", "MaxKeepAliveRequests 100",
                  "KeepAliveTimeout 5", "HostnameLookups Off")
SHIPPED_BINARY = "/usr/sbin/coursegen-status"
SHIPPED_SETTINGS = "/etc/coursegen-status/coursegen-status.conf"


def binary():
    """The binary under test (COURSEGEN_BIN, as the local stack uses)."""
    return os.environ.get("COURSEGEN_BIN") or os.path.join(REPO, "src", "coursegen-status")


def write_settings(path, env):
    """A settings file: one NAME=value line per variable."""
    with open(path, "w", encoding="utf-8") as f:
        for k, v in sorted(env.items()):
            if v is not None:
                f.write("%s=%s\n" % (k, v))
    os.chmod(path, 0o644)


class Apache:
    """Apache httpd with the shipped config for `mode` ("fcgid" or "cgi")."""

    def __init__(self, root, mode, settings, port=None, mpm="prefork", extra=()):
        assert mode in ("fcgid", "cgi")
        assert mpm in ("prefork", "event")
        self.root = os.path.abspath(root)
        self.mode = mode
        self.mpm = mpm
        self.extra = list(extra)
        self.port = port or localstack.free_port()
        self.settings = dict(settings)
        self.proc = None

    def _user(self):
        # Apache refuses to serve as root; its children need to reach the copied
        # binary and settings below self.root (0755).
        return ("nobody", "nogroup") if os.geteuid() == 0 else (None, None)

    def write_config(self):
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        for sub in ("logs", "run", "bin"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
            os.chmod(os.path.join(self.root, sub), 0o755)
        # Apache's children (nobody) may not be able to enter the build tree.
        exe = os.path.join(self.root, "bin", "coursegen-status")
        shutil.copy2(binary(), exe)
        os.chmod(exe, 0o755)
        settings = os.path.join(self.root, "coursegen-status.conf")
        write_settings(settings, self.settings)
        with open(os.path.join(APACHE_DIR, "coursegen-status-%s.conf" % self.mode),
                  encoding="utf-8") as f:
            site = f.read()
        for old, new in ((SHIPPED_BINARY, exe), (SHIPPED_SETTINGS, settings)):
            assert site.count(old) >= 1, "%s missing from the shipped config" % old
            site = site.replace(old, new)
        with open(os.path.join(self.root, "site.conf"), "w", encoding="utf-8") as f:
            f.write(site)
        user, group = self._user()
        lines = ["ServerRoot %s" % self.root,
                 "ServerName 127.0.0.1",
                 "Listen 127.0.0.1:%d" % self.port,
                 "PidFile %s/run/httpd.pid" % self.root,
                 "DefaultRuntimeDir %s/run" % self.root,
                 "ErrorLog %s/logs/error.log" % self.root,
                 "LogLevel warn",
                 "LogFormat \"%h %r %>s\" plain",
                 "CustomLog %s/logs/access.log plain" % self.root,
                 "DocumentRoot %s/run" % self.root]
        if self.mpm == "event":
            lines += self._debian_modules()
        else:
            built_in = subprocess.run(["apache2", "-l"], capture_output=True,
                                      text=True).stdout
            mods = [m for m in ("mpm_prefork", "authz_core", "alias", "env", "mime",
                                "log_config", "unixd", "headers",
                                "cgi" if self.mode == "cgi" else "fcgid")
                    if "mod_%s.c" % m not in built_in]
            lines += ["TypesConfig /etc/mime.types", "StartServers 2"]
            lines += ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m) for m in mods]
        if user:
            lines += ["User %s" % user, "Group %s" % group]
        if self.mode == "fcgid":
            lines += ["FcgidIPCDir %s/run/fcgid" % self.root,
                      "FcgidProcessTableFile %s/run/fcgid_shm" % self.root]
            os.makedirs(os.path.join(self.root, "run", "fcgid"), exist_ok=True)
            if user:
                shutil.chown(os.path.join(self.root, "run", "fcgid"), user, group)
        lines += self.extra
        lines.append("Include %s/site.conf" % self.root)
        conf = os.path.join(self.root, "httpd.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def _debian_modules(self):
        """Debian's default modules, the event MPM and the mode's module, loaded and
        configured by Debian's own files, as a2enmod links them."""
        run = os.path.join(self.root, "run")
        os.makedirs(os.path.join(run, "socks"), exist_ok=True)
        os.chmod(os.path.join(run, "socks"), 0o755)
        lines = ["Define APACHE_RUN_DIR %s" % run,
                 "Define APACHE_LOCK_DIR %s" % run,
                 "Define APACHE_LOG_DIR %s/logs" % self.root]
        lines += list(DEBIAN_GLOBALS)
        # and what the configs' install lines enable
        mods = ["mpm_event"] + list(DEBIAN_DEFAULT_MODS)
        mods += ["headers", "cgid" if self.mode == "cgi" else "fcgid"]
        for ext in ("load", "conf"):
            for m in mods:
                path = os.path.join(DEBIAN_MODS, "%s.%s" % (m, ext))
                if ext == "load" or os.path.exists(path):
                    lines.append("Include %s" % path)
        return lines

    def pids(self):
        """Apache's processes and their children (CGI and FastCGI programs)."""
        if self.proc is None:
            return []
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # the process group
                pids.append(int(name))
        return pids

    def start(self, timeout=20.0):
        conf = self.write_config()
        apache = shutil.which("apache2") or "/usr/sbin/apache2"
        check = subprocess.run([apache, "-t", "-f", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise localstack.HarnessError("apache2 -t: %s" % (check.stderr or check.stdout))
        self.proc = subprocess.Popen([apache, "-f", conf, "-DFOREGROUND"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        localstack._Cleanup.add(self)
        deadline = time.monotonic() + timeout
        while not localstack.port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise localstack.HarnessError("apache did not start: %s" % self.log_text())
            time.sleep(0.05)
        return self

    def log_text(self):
        try:
            with open(os.path.join(self.root, "logs", "error.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            # The whole group: Apache's children and mod_fcgid's processes.
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            # fcgid and CGI children that outlived the parent
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.proc.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        localstack._Cleanup.remove(self)


class Pool:
    """coursegen-status --listen unix:SOCK --workers N, supervised by the test."""

    def __init__(self, root, sock, env, workers=2, args=()):
        self.root = os.path.abspath(root)
        self.sock = sock
        self.env = dict(env)
        self.workers = workers
        self.args = list(args)
        self.proc = None
        self.logfile = os.path.join(self.root, "pool.log")

    def start(self, timeout=10.0):
        os.makedirs(self.root, exist_ok=True)
        env = dict(os.environ)
        env.update({k: v for k, v in self.env.items() if v is not None})
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
        if os.geteuid() == 0:
            env.setdefault("RUN_AS_USER", "nobody")
        self.log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            [binary(), "--listen", "unix:" + self.sock, "--workers", str(self.workers)]
            + self.args, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=self.log, start_new_session=True)
        localstack._Cleanup.add(self)
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < self.workers or not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise localstack.HarnessError("pool did not start: %s" % self.log_text())
            time.sleep(0.05)
        return self

    def worker_pids(self):
        """The master's children, now."""
        if self.proc is None:
            return []
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def log_text(self):
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            kids = self.worker_pids()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        localstack._Cleanup.remove(self)
