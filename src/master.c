/*
 * master.c - the process master in the php-fpm mould: one listening socket,
 * N forked workers, each with its own database connection opened after
 * fork. Signal handlers only set a flag and write a byte to a pipe; all
 * the work happens in the loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <libgen.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "worker.h"

/* Crash-loop brake: this many abnormal exits within the window pause
 * respawning for the window. */
#define BRAKE_CRASHES	10
#define BRAKE_WINDOW_S	10
#define MAX_CHILDREN	METRICS_SLOTS

enum mstate {
	M_RUNNING,
	M_STOPPING
};

struct child {
	pid_t		 pid;
	unsigned	 gen;		/* configuration generation */
	bool		 stopping;	/* told to finish and exit */
	bool		 trial;		/* of a reload not yet committed */
	bool		 ready;		/* trial worker: connected and prepared */
	int		 slot;		/* its status slot (metrics) */
};

/* The identity workers run as. */
struct runas {
	bool	 drop;
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];
};

static volatile sig_atomic_t	 got_chld, got_term, got_hup, got_usr1;
static int			 wake_pipe[2] = { -1, -1 };
static int			 ready_pipe[2] = { -1, -1 };

/* ---- process titles -------------------------------------------------------- */

/* The memory of argv and environ, which ps shows as the command line. */
static char	*title_area;
static size_t	 title_len;
static char	**volatile title_argv;	/* the copy of argv: reachable till exit */

char **
master_proctitle_init(int argc, char **argv)
{
	extern char	**environ;
	char		**nargv, **nenv, *end;
	int		  i, nenvc = 0;

	if (argc <= 0 || argv[0] == NULL || environ == NULL)
		return argv;
	end = argv[0];
	for (i = 0; i < argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (i = 0; environ[i] != NULL; i++) {
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
		nenvc++;
	}
	if ((nargv = calloc((size_t)argc + 1, sizeof(*nargv))) == NULL ||
	    (nenv = calloc((size_t)nenvc + 1, sizeof(*nenv))) == NULL) {
		free(nargv);
		return argv;
	}
	/* Copies first: the originals are overwritten by the titles. */
	for (i = 0; i < argc; i++)
		if ((nargv[i] = strdup(argv[i])) == NULL)
			return argv;
	for (i = 0; i < nenvc; i++)
		if ((nenv[i] = strdup(environ[i])) == NULL)
			return argv;
	environ = nenv;
	title_argv = nargv;
	program_invocation_name = nargv[0];
	title_area = argv[0];
	title_len = (size_t)(end - argv[0]);
	return nargv;
}

static void __attribute__((format(printf, 1, 2)))
set_title(const char *fmt, ...)
{
	va_list	 ap;
	char	 t[256];
	size_t	 n;

	if (title_area == NULL || title_len < 2)
		return;
	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	n = strlen(t);
	if (n > title_len - 1)
		n = title_len - 1;
	memcpy(title_area, t, n);
	memset(title_area + n, 0, title_len - n);
}

/* ---- signals ------------------------------------------------------------ */

static void
master_signal(int sig)
{
	int saved = errno;

	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP || sig == SIGUSR2)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "", 1);
	errno = saved;
}

/* ---- the forked worker ---------------------------------------------------- */

/* Drop to the configured user and group, and check that it held. */
static bool
drop_privileges(const struct runas *ra)
{
	if (!ra->drop)
		return true;
	if (setgroups(1, &ra->gid) != 0 || setgid(ra->gid) != 0 ||
	    setuid(ra->uid) != 0)
		return false;
	/* Regaining root must now be impossible. */
	if (getuid() != ra->uid || geteuid() != ra->uid ||
	    getgid() != ra->gid || getegid() != ra->gid ||
	    setuid(0) == 0 || seteuid(0) == 0)
		return false;
	return true;
}

enum spawn_kind {
	SPAWN_SERVING,		/* a worker of the running generation */
	SPAWN_TRIAL		/* a worker of a reload on trial */
};

/* The child after fork(): never returns. A worker on trial (SPAWN_TRIAL)
 * reports on the ready pipe before it serves. */
static void
worker_main(const struct settings *set, int fd, const struct runas *ra,
    pid_t master, const sigset_t *mask, enum spawn_kind kind)
{
	sigset_t	 hold;
	int		 ready_fd = -1;

	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	close(ready_pipe[0]);
	if (kind == SPAWN_TRIAL)
		ready_fd = ready_pipe[1];
	else
		close(ready_pipe[1]);
	ready_pipe[0] = ready_pipe[1] = -1;
	set_title("coursegen-status: worker process");
	/* The settings of this worker's generation decide where it logs. */
	log_set_level(set->log_level);
	if (set->log_syslog)
		(void)log_use_syslog();
	else
		log_use_stderr();
	if (!drop_privileges(ra)) {
		log_msg(LOG_LVL_ERROR, "cannot drop privileges to user %s",
		    ra->name);
		_exit(WORKER_EX_CONFIG);
	}
	/* If the master dies, so do we (after the request in hand). After
	 * the drop: changing credentials clears the parent-death signal. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
		_exit(0);
	/* Own handlers first, then the master's mask (TERM/INT stay held
	 * until the accept loop lets them in). */
	worker_signals(&hold);
	sigprocmask(SIG_SETMASK, mask, NULL);
	sigprocmask(SIG_BLOCK, &hold, NULL);
	_exit(worker_serve(set, fd, set->max_requests, ready_fd));
}

/* ---- the socket ----------------------------------------------------------- */

static int
listen_unix(const char *path, const struct settings *set,
    const struct runas *ra, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	struct group		*gr;
	gid_t			 gid = (gid_t)-1;
	mode_t			 old_mask;
	int			 fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "LISTEN: unix socket path too long");
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	/* A socket left by a dead master is replaced; a live one is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "LISTEN: %s exists and is not a "
			    "socket", path);
			close(fd);
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			snprintf(err, errlen, "LISTEN: %s is in use by another "
			    "process", path);
			close(fd);
			return -1;
		}
		close(fd);
		unlink(path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			goto fail;
	}
	/* The mode through the umask, so the socket never exists with
	 * another; nothing below follows a symlink put in its place. */
	old_mask = umask(~(mode_t)set->listen_mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc != 0)
		goto fail;
	if (set->listen_group != NULL) {
		if ((gr = getgrnam(set->listen_group)) == NULL) {
			snprintf(err, errlen, "LISTEN_GROUP: no group %s",
			    set->listen_group);
			close(fd);
			return -1;
		}
		gid = gr->gr_gid;
	} else if (ra->drop)
		gid = ra->gid;
	if ((ra->drop || gid != (gid_t)-1) &&
	    fchownat(AT_FDCWD, path, ra->drop ? ra->uid : (uid_t)-1, gid,
	    AT_SYMLINK_NOFOLLOW) != 0)
		goto fail;
	if (listen(fd, (int)set->listen_backlog) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "LISTEN %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
listen_tcp(const char *addr, const struct settings *set, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[256];
	const char	*colon = strrchr(addr, ':'), *h;
	size_t		 hl;
	int		 fd = -1, one = 1, rc;

	if (colon == NULL || colon == addr || colon[1] == '\0' ||
	    (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(err, errlen, "LISTEN must be unix:/path or "
		    "host:port");
		return -1;
	}
	h = addr;
	hl = (size_t)(colon - addr);
	if (*h == '[' && hl >= 2 && h[hl - 1] == ']') {	/* [::1]:9000 */
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "LISTEN %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, (int)set->listen_backlog) != 0) {
		snprintf(err, errlen, "LISTEN %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
listen_open(const struct settings *set, const struct runas *ra, char *err,
    size_t errlen)
{
	if (strncmp(set->listen, "unix:", 5) == 0)
		return listen_unix(set->listen + 5, set, ra, err, errlen);
	return listen_tcp(set->listen, set, err, errlen);
}

/* Who workers run as: the configured user when started as root. */
static int
resolve_runas(const struct settings *set, struct runas *ra, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	memset(ra, 0, sizeof(*ra));
	if (geteuid() != 0) {
		if (set->run_as_user != NULL)
			log_msg(LOG_LVL_WARN, "RUN_AS_USER ignored: not "
			    "started as root");
		return 0;
	}
	if (set->run_as_user == NULL) {
		snprintf(err, errlen, "started as root: set RUN_AS_USER "
		    "(workers never run as root)");
		return -1;
	}
	if ((pw = getpwnam(set->run_as_user)) == NULL) {
		snprintf(err, errlen, "RUN_AS_USER: no user %s",
		    set->run_as_user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "RUN_AS_USER: %s is root",
		    set->run_as_user);
		return -1;
	}
	ra->drop = true;
	ra->uid = pw->pw_uid;
	ra->gid = pw->pw_gid;
	snprintf(ra->name, sizeof(ra->name), "%s", set->run_as_user);
	if (set->run_as_group != NULL) {
		if ((gr = getgrnam(set->run_as_group)) == NULL) {
			snprintf(err, errlen, "RUN_AS_GROUP: no group %s",
			    set->run_as_group);
			return -1;
		}
		ra->gid = gr->gr_gid;
	}
	return 0;
}

/* ---- checks without side effects (--check-config) ---------------------- */

/* The directory of `path` exists. */
static bool
dir_exists(const char *path)
{
	struct stat	 st;
	char		*copy;
	bool		 ok;

	if ((copy = strdup(path)) == NULL)
		return false;
	ok = stat(dirname(copy), &st) == 0 && S_ISDIR(st.st_mode);
	free(copy);
	return ok;
}

int
master_check(const struct settings *set, char *err, size_t errlen)
{
	struct runas		 ra;
	struct addrinfo		 hints, *res = NULL;
	struct stat		 st;
	const char		*path, *colon;
	char			 host[256];
	size_t			 hl;
	int			 rc;

	if (set->pid_file != NULL && !dir_exists(set->pid_file)) {
		snprintf(err, errlen, "PID_FILE: the directory of %s does not "
		    "exist", set->pid_file);
		return -1;
	}
	if (set->log_file != NULL && !dir_exists(set->log_file)) {
		snprintf(err, errlen, "LOG_FILE: the directory of %s does not "
		    "exist", set->log_file);
		return -1;
	}
	if (set->listen == NULL)
		return 0;
	if (resolve_runas(set, &ra, err, errlen) != 0)
		return -1;
	if (set->listen_group != NULL && getgrnam(set->listen_group) == NULL) {
		snprintf(err, errlen, "LISTEN_GROUP: no group %s",
		    set->listen_group);
		return -1;
	}
	if (strncmp(set->listen, "unix:", 5) == 0) {
		path = set->listen + 5;
		if (*path != '/' || strlen(path) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "LISTEN: the unix socket path must "
			    "be absolute and shorter than 108 bytes");
			return -1;
		}
		if (!dir_exists(path)) {
			snprintf(err, errlen, "LISTEN: the directory of %s does "
			    "not exist (create it, or let systemd's "
			    "RuntimeDirectory= make it)", path);
			return -1;
		}
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "LISTEN: %s exists and is not a "
			    "socket", path);
			return -1;
		}
		return 0;
	}
	colon = strrchr(set->listen, ':');
	if (colon == NULL || colon == set->listen || colon[1] == '\0' ||
	    (hl = (size_t)(colon - set->listen)) >= sizeof(host)) {
		snprintf(err, errlen, "LISTEN must be unix:/path or host:port");
		return -1;
	}
	if (set->listen[0] == '[' && hl >= 2 && colon[-1] == ']') {
		memcpy(host, set->listen + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		memcpy(host, set->listen, hl);
		host[hl] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "LISTEN %s: %s", set->listen,
		    gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

/* ---- the master loop ------------------------------------------------------ */

struct master {
	struct settings	*set;
	const char	*config_file;
	const struct master_overrides *ov;
	struct runas	 ra;
	int		 fd;
	pid_t		 self;
	unsigned	 gen;		/* the generation that serves */
	unsigned	 next_gen;
	enum mstate	 state;
	int		 exit_code;
	struct child	 kids[MAX_CHILDREN];
	size_t		 nkids;
	time_t		 crashes[BRAKE_CRASHES];
	size_t		 ncrash;
	time_t		 brake_until;
	time_t		 deadline;
	/* a reload on trial: its settings, workers, deadline */
	struct settings	*trial_set;
	struct runas	 trial_ra;
	unsigned	 trial_gen;
	size_t		 trial_ready;
	time_t		 trial_deadline;
	bool		 hup_pending;
	bool		 pid_written;
	char		 closing[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
};

static time_t
now_s(void)
{
	return (time_t)(clock_mono_ms() / 1000);
}

static void
spawn(struct master *m, const struct settings *set, const struct runas *ra,
    unsigned gen, enum spawn_kind kind)
{
	sigset_t	 all, old;
	pid_t		 pid;
	int		 slot;

	if (m->nkids >= MAX_CHILDREN)
		return;
	fflush(NULL);
	slot = metrics_slot_reserve();
	/* No signal may reach the child before it installs its own
	 * handlers: it would run the master's. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		metrics_slot_release(slot);
		log_msg(LOG_LVL_ERROR, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		metrics_slot_use(slot);
		worker_main(set, m->fd, ra, m->self, &old, kind);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	metrics_slot_set(slot, (long)pid);
	m->kids[m->nkids].pid = pid;
	m->kids[m->nkids].gen = gen;
	m->kids[m->nkids].stopping = false;
	m->kids[m->nkids].trial = kind == SPAWN_TRIAL;
	m->kids[m->nkids].ready = false;
	m->kids[m->nkids].slot = slot;
	m->nkids++;
}

static size_t
current_workers(const struct master *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].gen == m->gen && !m->kids[i].stopping)
			n++;
	return n;
}

/* Keep the pool full, unless the brake is on. */
static void
fill(struct master *m)
{
	size_t have = current_workers(m);

	if (m->state != M_RUNNING || now_s() < m->brake_until)
		return;
	while (have < (size_t)m->set->workers && m->nkids < MAX_CHILDREN) {
		spawn(m, m->set, &m->ra, m->gen, SPAWN_SERVING);
		have++;
	}
}

static void
record_crash(struct master *m)
{
	time_t now = now_s();
	time_t oldest = m->crashes[m->ncrash % BRAKE_CRASHES];

	metrics_restart(MR_CRASH);
	m->crashes[m->ncrash % BRAKE_CRASHES] = now;
	m->ncrash++;
	if (m->ncrash >= BRAKE_CRASHES && now - oldest < BRAKE_WINDOW_S) {
		m->brake_until = now + BRAKE_WINDOW_S;
		log_msg(LOG_LVL_ERROR, "crash loop: %d workers died within "
		    "%d s; not restarting any for %d s", BRAKE_CRASHES,
		    BRAKE_WINDOW_S, BRAKE_WINDOW_S);
	}
}

static bool
trial_on(const struct master *m)
{
	return m->trial_set != NULL;
}

/*
 * The reload on trial failed: its workers go (those that never reported
 * were not serving, they are killed), its settings are dropped, and the
 * current workers keep serving.
 */
static void
trial_abort(struct master *m, const char *why)
{
	size_t i;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].trial && m->kids[i].gen == m->trial_gen) {
			m->kids[i].stopping = true;
			kill(m->kids[i].pid, m->kids[i].ready ? SIGTERM :
			    SIGKILL);
		}
	log_msg(LOG_LVL_ERROR, "reload refused: %s; the %zu current workers "
	    "keep serving with the previous settings", why,
	    current_workers(m));
	metrics_reload_refused();
	settings_free(m->trial_set);
	free(m->trial_set);
	m->trial_set = NULL;
}

/* Every worker on trial is ready: they become the pool, the old ones
 * finish what they hold and exit. */
static void
trial_commit(struct master *m)
{
	struct settings	*ns = m->trial_set;
	size_t		 i;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].gen == m->trial_gen)
			m->kids[i].trial = false;
		else if (!m->kids[i].stopping)
			metrics_restart(MR_RELOAD);
	/* Said where it is still read. */
	if (ns->log_syslog != m->set->log_syslog)
		log_msg(LOG_LVL_INFO, "reload: LOG_TARGET is now %s",
		    ns->log_syslog ? "syslog" : "stderr");
	settings_free(m->set);
	free(m->set);
	m->set = ns;
	m->trial_set = NULL;
	m->ra = m->trial_ra;
	m->gen = m->trial_gen;
	log_set_level(ns->log_level);
	if (ns->log_syslog)
		(void)log_use_syslog();
	else
		log_use_stderr();
	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].gen != m->gen && !m->kids[i].stopping) {
			m->kids[i].stopping = true;
			kill(m->kids[i].pid, SIGQUIT);
		}
	metrics_reload_done();
	log_msg(LOG_LVL_INFO, "configuration reloaded; %lld new workers "
	    "ready%s%s", ns->workers, m->ra.drop ? " as " : "",
	    m->ra.drop ? m->ra.name : "");
}

enum worker_end
master_worker_end(const struct worker_exit *ex)
{
	if (ex->trial)
		return ex->current_trial ? WE_TRIAL_FAILED : WE_IGNORE;
	if (WIFEXITED(ex->status) && WEXITSTATUS(ex->status) == 0)
		return !ex->stopping && ex->running ? WE_RECYCLED : WE_DONE;
	if (WIFEXITED(ex->status) &&
	    WEXITSTATUS(ex->status) == WORKER_EX_CONFIG)
		return WE_CANNOT_RUN;
	if (WIFSIGNALED(ex->status) && ex->stopping &&
	    WTERMSIG(ex->status) == SIGKILL)
		return WE_IGNORE;	/* our own straggler kill */
	return ex->running ? WE_CRASHED : WE_FAILED;
}

static void
reap(struct master *m)
{
	struct worker_exit	 ex;
	enum worker_end		 v;
	pid_t			 pid;
	int			 st;
	size_t			 i;
	char			 why[128];

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct child	 c;
		bool		 found = false;

		memset(&c, 0, sizeof(c));
		for (i = 0; i < m->nkids; i++)
			if (m->kids[i].pid == pid) {
				c = m->kids[i];
				m->kids[i] = m->kids[--m->nkids];
				found = true;
				break;
			}
		if (!found)
			continue;
		metrics_slot_release(c.slot);
		ex.status = st;
		ex.trial = c.trial;
		ex.current_trial = trial_on(m) && c.gen == m->trial_gen;
		ex.stopping = c.stopping;
		ex.running = m->state == M_RUNNING;
		switch (v = master_worker_end(&ex)) {
		case WE_IGNORE:
		case WE_DONE:
			break;
		case WE_TRIAL_FAILED:
			if (WIFSIGNALED(st))
				snprintf(why, sizeof(why), "a new worker was "
				    "killed by signal %d (%s)", WTERMSIG(st),
				    strsignal(WTERMSIG(st)));
			else
				snprintf(why, sizeof(why), "a new worker "
				    "exited with status %d", WEXITSTATUS(st));
			trial_abort(m, why);
			break;
		case WE_RECYCLED:
			metrics_restart(MR_RECYCLE);
			log_msg(LOG_LVL_DEBUG, "worker %ld recycled after %lld "
			    "requests", (long)pid, m->set->max_requests);
			break;
		case WE_CANNOT_RUN:
			log_msg(LOG_LVL_ERROR, "worker %ld cannot run (see "
			    "above); stopping", (long)pid);
			m->exit_code = 1;
			got_term = 1;
			break;
		case WE_CRASHED:
		case WE_FAILED:
			if (WIFSIGNALED(st))
				log_msg(LOG_LVL_WARN, "worker %ld killed by "
				    "signal %d (%s)%s", (long)pid, WTERMSIG(st),
				    strsignal(WTERMSIG(st)), v == WE_CRASHED ?
				    "; replacing it" : "");
			else
				log_msg(LOG_LVL_WARN, "worker %ld exited with "
				    "status %d%s", (long)pid, WEXITSTATUS(st),
				    v == WE_CRASHED ? "; replacing it" : "");
			if (v == WE_CRASHED)
				record_crash(m);
			break;
		}
	}
}

/* Reports of the workers on trial. */
static void
read_ready(struct master *m)
{
	struct worker_ready	 msgs[8];
	ssize_t			 n;
	size_t			 i, k;
	char			 why[sizeof(msgs[0].why) + 64];

	while ((n = read(ready_pipe[0], msgs, sizeof(msgs))) > 0) {
		for (k = 0; k < (size_t)n / sizeof(msgs[0]); k++) {
			msgs[k].why[sizeof(msgs[k].why) - 1] = '\0';
			for (i = 0; i < m->nkids; i++)
				if (m->kids[i].pid == msgs[k].pid)
					break;
			if (i == m->nkids || !trial_on(m) ||
			    !m->kids[i].trial || m->kids[i].gen != m->trial_gen)
				continue;	/* of a reload already decided */
			if (!msgs[k].ok) {
				snprintf(why, sizeof(why), "a new worker cannot "
				    "serve: database: %s", msgs[k].why);
				trial_abort(m, why);
				continue;
			}
			if (!m->kids[i].ready) {
				m->kids[i].ready = true;
				m->trial_ready++;
			}
		}
		if (trial_on(m) &&
		    m->trial_ready >= (size_t)m->trial_set->workers)
			trial_commit(m);
	}
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * Settings that only a restart applies (the socket, the pid file, the log
 * file): a change is logged and the running value kept.
 */
static int
keep_restart_only(struct master *m, struct settings *ns)
{
	const struct settings	*os = m->set;
	struct {
		const char	 *name;
		char		**now;
		const char	 *was;
	} strs[] = {
		{ "LISTEN", &ns->listen, os->listen },
		{ "LISTEN_GROUP", &ns->listen_group, os->listen_group },
		{ "PID_FILE", &ns->pid_file, os->pid_file },
		{ "LOG_FILE", &ns->log_file, os->log_file },
	};
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (!str_differs(*strs[i].now, strs[i].was))
			continue;
		log_msg(LOG_LVL_WARN, "reload: %s changed; it needs a restart "
		    "(keeping %s)", strs[i].name,
		    strs[i].was ? strs[i].was : "none");
		free(*strs[i].now);
		*strs[i].now = NULL;
		if (strs[i].was != NULL &&
		    (*strs[i].now = strdup(strs[i].was)) == NULL)
			return -1;
	}
	if (ns->listen_backlog != os->listen_backlog) {
		log_msg(LOG_LVL_WARN, "reload: LISTEN_BACKLOG changed; it needs "
		    "a restart (keeping %lld)", os->listen_backlog);
		ns->listen_backlog = os->listen_backlog;
	}
	if (ns->listen_mode != os->listen_mode) {
		log_msg(LOG_LVL_WARN, "reload: LISTEN_MODE changed; it needs "
		    "a restart (keeping %04llo)", os->listen_mode);
		ns->listen_mode = os->listen_mode;
	}
	return 0;
}

/*
 * SIGHUP (or SIGUSR2): read the settings again. If they are good, a new
 * generation of workers starts on trial: each connects to the database and
 * prepares the query before it accepts a connection. When all are ready
 * the old generation finishes what it holds and exits; if one cannot, the
 * new ones go and the old ones keep serving (read_ready, reap, the loop's
 * deadline).
 */
static void
reload(struct master *m)
{
	struct settings	*ns;
	struct runas	 nra;
	char		 err[512];
	size_t		 i;

	if (trial_on(m)) {
		m->hup_pending = true;
		log_msg(LOG_LVL_INFO, "reload: the previous reload is still "
		    "being tried; this one follows it");
		return;
	}
	if ((ns = calloc(1, sizeof(*ns))) == NULL) {
		log_msg(LOG_LVL_ERROR, "reload: out of memory; keeping the "
		    "current workers");
		return;
	}
	if (settings_load(ns, m->config_file, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_ERROR, "reload: %s; keeping the current "
		    "workers", err);
		goto refuse;
	}
	(void)settings_file_exposed(m->config_file);
	if (m->ov->workers > 0) {
		if (ns->workers_given && ns->workers != m->ov->workers)
			log_msg(LOG_LVL_WARN, "reload: WORKERS=%lld is "
			    "overridden by --workers %lld on the command line "
			    "(drop --workers to size the pool from the "
			    "settings)", ns->workers, m->ov->workers);
		ns->workers = m->ov->workers;
	}
	if (m->ov->listen != NULL) {
		free(ns->listen);
		if ((ns->listen = strdup(m->ov->listen)) == NULL)
			goto nomem;
	}
	if (keep_restart_only(m, ns) != 0)
		goto nomem;
	/* Who the new workers run as: resolved again, applied, or the
	 * reload is refused. */
	if (resolve_runas(ns, &nra, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_ERROR, "reload: %s; keeping the current "
		    "workers", err);
		goto refuse;
	}
	if (nra.drop && (nra.uid != m->ra.uid || nra.gid != m->ra.gid))
		log_msg(LOG_LVL_INFO, "reload: the new workers run as %s "
		    "(uid %ld, gid %ld)", nra.name, (long)nra.uid,
		    (long)nra.gid);
	m->trial_set = ns;
	m->trial_ra = nra;
	m->trial_gen = ++m->next_gen;
	m->trial_ready = 0;
	m->trial_deadline = now_s() + 2 * (time_t)ns->db_connect_timeout + 5;
	log_msg(LOG_LVL_INFO, "reload: starting %lld new workers; the current "
	    "ones serve until every new one has reached the database",
	    ns->workers);
	for (i = 0; i < (size_t)ns->workers; i++)
		spawn(m, ns, &nra, m->trial_gen, SPAWN_TRIAL);
	return;
nomem:
	log_msg(LOG_LVL_ERROR, "reload: out of memory; keeping the current "
	    "workers");
refuse:
	metrics_reload_refused();
	settings_free(ns);
	free(ns);
}

/* Connect to our own socket and hang up: wakes a worker that entered
 * accept() just after its stop signal (it then finds EAGAIN and exits). */
static void
poke(const struct master *m, size_t times)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	size_t			 i;
	int			 fd;

	for (i = 0; i < times; i++) {
		len = sizeof(ss);
		if (getsockname(m->fd, (struct sockaddr *)&ss, &len) != 0)
			return;
		if (ss.ss_family == AF_UNIX) {
			struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

			if (m->closing[0] == '\0')
				return;
			snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
			    m->closing);
			len = sizeof(*sun);
		}
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) < 0)
			return;
		(void)connect(fd, (struct sockaddr *)&ss, len);
		close(fd);
	}
}

static void
signal_all(struct master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->nkids; i++) {
		m->kids[i].stopping = true;
		kill(m->kids[i].pid, sig);
	}
}

/*
 * SIGTERM, SIGINT, SIGQUIT: no new connection may arrive (a unix socket is
 * renamed away, so nginx gets an immediate "no such file" and its JSON
 * 502), the socket becomes non-blocking so workers can drain what already
 * waits in the backlog, and every worker is told to finish.
 */
static void
begin_stop(struct master *m)
{
	int fl;

	if (m->state == M_STOPPING)
		return;
	m->state = M_STOPPING;
	m->deadline = now_s() + (time_t)m->set->shutdown_timeout;
	if (trial_on(m)) {
		settings_free(m->trial_set);
		free(m->trial_set);
		m->trial_set = NULL;
	}
	if (strncmp(m->set->listen, "unix:", 5) == 0) {
		snprintf(m->closing, sizeof(m->closing), "%s.closing",
		    m->set->listen + 5);
		if (rename(m->set->listen + 5, m->closing) != 0)
			m->closing[0] = '\0';
	}
	if ((fl = fcntl(m->fd, F_GETFL)) >= 0)
		fcntl(m->fd, F_SETFL, fl | O_NONBLOCK);
	signal_all(m, SIGTERM);
	poke(m, m->nkids);
	log_msg(LOG_LVL_INFO, "stopping: waiting up to %lld s for %zu "
	    "workers", m->set->shutdown_timeout, m->nkids);
}

/* SIGUSR1: the master opens the LOG_FILE again (creating it for the
 * workers' user), then each worker does. */
static void
reopen_logs(struct master *m)
{
	size_t i;

	if (m->set->log_file == NULL) {
		log_msg(LOG_LVL_INFO, "SIGUSR1: no LOG_FILE to reopen");
		return;
	}
	if (log_open_file(m->set->log_file, m->ra.drop ? (long)m->ra.uid :
	    -1) != 0) {
		log_msg(LOG_LVL_ERROR, "cannot reopen LOG_FILE %s: %s; still "
		    "writing to the old one", m->set->log_file,
		    strerror(errno));
		return;
	}
	for (i = 0; i < m->nkids; i++)
		kill(m->kids[i].pid, SIGUSR1);
	log_msg(LOG_LVL_INFO, "log file reopened");
}

static int
write_pid_file(const char *path)
{
	char	 line[32];
	int	 fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) < 0)
		return -1;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Remove the pid file if it still names us. */
static void
remove_pid_file(const char *path)
{
	char	 line[32];
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL &&
	    strtol(line, NULL, 10) == (long)getpid())
		unlink(path);
	fclose(f);
}

int
master_run(struct settings *set, const char *config_file,
    const struct master_overrides *ov)
{
	static struct master	 m;
	struct pollfd		 pfd[2];
	char			 err[512], drain[64];
	int			 fl, rc = 1;

	memset(&m, 0, sizeof(m));
	m.set = set;
	m.config_file = config_file;
	m.ov = ov;
	m.self = getpid();
	m.fd = -1;
	set_title("coursegen-status: master process%s%s",
	    config_file ? " -c " : "", config_file ? config_file : "");
	if (set->listen == NULL) {
		log_msg(LOG_LVL_ERROR, "no socket to listen on: give --listen "
		    "or LISTEN");
		rc = 2;
		goto fail;
	}
	if (resolve_runas(set, &m.ra, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_ERROR, "%s", err);
		rc = 2;
		goto fail;
	}
	if ((m.fd = listen_open(set, &m.ra, err, sizeof(err))) < 0) {
		log_msg(LOG_LVL_ERROR, "%s", err);
		goto fail;
	}
	if (set->log_file != NULL && log_open_file(set->log_file,
	    m.ra.drop ? (long)m.ra.uid : -1) != 0) {
		log_msg(LOG_LVL_ERROR, "LOG_FILE %s: %s", set->log_file,
		    strerror(errno));
		goto fail;
	}
	if (set->pid_file != NULL) {
		if (write_pid_file(set->pid_file) != 0) {
			log_msg(LOG_LVL_ERROR, "PID_FILE %s: %s",
			    set->pid_file, strerror(errno));
			goto fail;
		}
		m.pid_written = true;
	}
	/* The workers inherit the socket; nothing else of ours leaks. */
	if ((fl = fcntl(m.fd, F_GETFD)) >= 0)
		fcntl(m.fd, F_SETFD, fl & ~FD_CLOEXEC);
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(ready_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_msg(LOG_LVL_ERROR, "pipe: %s", strerror(errno));
		goto fail;
	}
	worker_on_signal(SIGCHLD, master_signal, SA_RESTART | SA_NOCLDSTOP);
	worker_on_signal(SIGTERM, master_signal, SA_RESTART);
	worker_on_signal(SIGINT, master_signal, SA_RESTART);
	worker_on_signal(SIGQUIT, master_signal, SA_RESTART);
	worker_on_signal(SIGHUP, master_signal, SA_RESTART);
	worker_on_signal(SIGUSR1, master_signal, SA_RESTART);
	worker_on_signal(SIGUSR2, master_signal, SA_RESTART);
	worker_on_signal(SIGPIPE, SIG_IGN, 0);

	/* Counters every worker and the master add to. */
	if (metrics_init(METRICS_SHARED) != 0)
		log_msg(LOG_LVL_WARN, "no shared memory for metrics");
	(void)settings_file_exposed(config_file);
	/* The status cache's table of the workers' reads (cache.h). */
	cache_seen_premap();
	log_msg(LOG_LVL_INFO, "listening on %s with %lld workers%s%s",
	    set->listen, set->workers, m.ra.drop ? " as " : "",
	    m.ra.drop ? m.ra.name : "");
	fill(&m);
	pfd[0].fd = wake_pipe[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = ready_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, 1000) > 0)
			while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
				;
		/* Reports first: a worker on trial writes before it exits. */
		read_ready(&m);
		if (got_chld) {
			got_chld = 0;
			reap(&m);
		}
		if (trial_on(&m) && now_s() >= m.trial_deadline)
			trial_abort(&m, "the new workers did not reach the "
			    "database in time");
		if (got_term) {
			got_term = 0;
			begin_stop(&m);
		}
		if (got_usr1) {
			got_usr1 = 0;
			reopen_logs(&m);
		}
		if (got_hup || (m.hup_pending && !trial_on(&m))) {
			got_hup = 0;
			m.hup_pending = false;
			if (m.state == M_RUNNING)
				reload(&m);
		}
		if (m.state == M_STOPPING) {
			if (m.nkids == 0)
				break;
			if (now_s() >= m.deadline) {
				log_msg(LOG_LVL_WARN, "%zu workers still busy "
				    "after %lld s; killing them", m.nkids,
				    m.set->shutdown_timeout);
				signal_all(&m, SIGKILL);
				m.deadline = now_s() + 3600;
			}
		} else
			fill(&m);
	}
	close(m.fd);
	if (m.closing[0] != '\0')
		unlink(m.closing);
	else if (strncmp(m.set->listen, "unix:", 5) == 0)
		unlink(m.set->listen + 5);
	if (m.pid_written)
		remove_pid_file(m.set->pid_file);
	log_msg(LOG_LVL_INFO, "stopped");
	settings_free(m.set);
	free(m.set);
	return m.exit_code;
fail:
	if (m.fd >= 0) {
		close(m.fd);
		if (strncmp(set->listen, "unix:", 5) == 0)
			unlink(set->listen + 5);
	}
	if (m.pid_written)
		remove_pid_file(set->pid_file);
	settings_free(m.set);
	free(m.set);
	return rc;
}
