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
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "fcgi.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "service.h"

/* Crash-loop brake: this many abnormal exits within the window pause
 * respawning for the window. */
#define BRAKE_CRASHES	10
#define BRAKE_WINDOW_S	10
#define MAX_CHILDREN	2048

enum mstate {
	M_RUNNING,
	M_STOPPING
};

struct child {
	pid_t		 pid;
	unsigned	 gen;		/* configuration generation */
	bool		 stopping;	/* told to finish and exit */
};

/* The identity workers run as. */
struct runas {
	bool	 drop;
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];
};

static volatile sig_atomic_t	 got_chld, got_term, got_hup;
static volatile sig_atomic_t	 worker_stop;
static int			 wake_pipe[2] = { -1, -1 };

/* ---- signals ------------------------------------------------------------ */

static void
master_signal(int sig)
{
	int saved = errno;

	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "", 1);
	errno = saved;
}

static void
worker_signal(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static void
on_signal(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* ---- the worker side ------------------------------------------------------ */

/*
 * Install the worker's handlers: SIGTERM, SIGINT and SIGQUIT set the stop
 * flag; they stay blocked and fcgi_run delivers them between requests and
 * while idle. SIGHUP is the master's business.
 */
static void
worker_signals(sigset_t *hold)
{
	on_signal(SIGTERM, worker_signal, 0);
	on_signal(SIGINT, worker_signal, 0);
	on_signal(SIGQUIT, worker_signal, 0);
	on_signal(SIGHUP, SIG_IGN, 0);
	on_signal(SIGCHLD, SIG_DFL, 0);
	on_signal(SIGPIPE, SIG_IGN, 0);
	sigemptyset(hold);
	sigaddset(hold, SIGTERM);
	sigaddset(hold, SIGINT);
	sigaddset(hold, SIGQUIT);
	sigprocmask(SIG_BLOCK, hold, NULL);
}

static int
worker_serve(const struct settings *set, int fd, long long max_requests)
{
	struct service	 svc;
	sigset_t	 hold;
	long long	 served;

	worker_signals(&hold);
	if (service_init(&svc, set) != 0) {
		log_msg(LOG_LVL_ERROR, "out of memory");
		return 1;
	}
	served = fcgi_run(&svc, fd, max_requests, &worker_stop, &hold);
	service_free(&svc);
	return served < 0 ? 1 : 0;
}

int
worker_run_fd0(const struct settings *set)
{
	/* The spawner (spawn-fcgi, mod_fcgid) is the process manager here;
	 * spawn-fcgi never replaces a worker, so there is no recycling.
	 * Metrics are this process's own. */
	(void)metrics_init(false);
	return worker_serve(set, 0, 0);
}

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

/* The child after fork(): never returns. */
static void
worker_main(const struct settings *set, int fd, const struct runas *ra,
    pid_t master, const sigset_t *mask)
{
	sigset_t hold;

	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	if (!drop_privileges(ra)) {
		log_msg(LOG_LVL_ERROR, "cannot drop privileges to user %s",
		    ra->name);
		_exit(MASTER_EX_CONFIG);
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
	_exit(worker_serve(set, fd, set->max_requests));
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
	int			 fd;

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
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, (mode_t)set->listen_mode) != 0)
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
	    chown(path, ra->drop ? ra->uid : (uid_t)-1, gid) != 0)
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

/* ---- the master loop ------------------------------------------------------ */

struct master {
	struct settings	*set;
	const char	*config_file;
	const struct master_overrides *ov;
	struct runas	 ra;
	int		 fd;
	pid_t		 self;
	unsigned	 gen;
	enum mstate	 state;
	int		 exit_code;
	struct child	 kids[MAX_CHILDREN];
	size_t		 nkids;
	time_t		 crashes[BRAKE_CRASHES];
	size_t		 ncrash;
	time_t		 brake_until;
	time_t		 deadline;
	char		 closing[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
};

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
spawn(struct master *m)
{
	sigset_t	 all, old;
	pid_t		 pid;

	if (m->nkids >= MAX_CHILDREN)
		return;
	fflush(NULL);
	/* No signal may reach the child before it installs its own
	 * handlers: it would run the master's. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_msg(LOG_LVL_ERROR, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		worker_main(m->set, m->fd, &m->ra, m->self, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	m->kids[m->nkids].pid = pid;
	m->kids[m->nkids].gen = m->gen;
	m->kids[m->nkids].stopping = false;
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
		spawn(m);
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

static void
reap(struct master *m)
{
	pid_t	 pid;
	int	 st;
	size_t	 i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct child	 c = { 0, 0, false };
		bool		 found = false;

		for (i = 0; i < m->nkids; i++)
			if (m->kids[i].pid == pid) {
				c = m->kids[i];
				m->kids[i] = m->kids[--m->nkids];
				found = true;
				break;
			}
		if (!found)
			continue;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			if (!c.stopping && m->state == M_RUNNING)
				metrics_restart(MR_RECYCLE);
			if (!c.stopping && m->state == M_RUNNING)
				log_msg(LOG_LVL_DEBUG, "worker %ld recycled "
				    "after %lld requests", (long)pid,
				    m->set->max_requests);
		} else if (WIFEXITED(st) &&
		    WEXITSTATUS(st) == MASTER_EX_CONFIG) {
			log_msg(LOG_LVL_ERROR, "worker %ld cannot run (see "
			    "above); stopping", (long)pid);
			m->exit_code = 1;
			got_term = 1;
		} else if (WIFSIGNALED(st)) {
			if (c.stopping && WTERMSIG(st) == SIGKILL)
				continue;	/* our own straggler kill */
			log_msg(LOG_LVL_WARN, "worker %ld killed by signal %d "
			    "(%s)%s", (long)pid, WTERMSIG(st),
			    strsignal(WTERMSIG(st)),
			    m->state == M_RUNNING ? "; replacing it" : "");
			if (m->state == M_RUNNING)
				record_crash(m);
		} else {
			log_msg(LOG_LVL_WARN, "worker %ld exited with status "
			    "%d%s", (long)pid, WEXITSTATUS(st),
			    m->state == M_RUNNING ? "; replacing it" : "");
			if (m->state == M_RUNNING)
				record_crash(m);
		}
	}
}

static void
signal_all(struct master *m, int sig, bool old_only)
{
	size_t i;

	for (i = 0; i < m->nkids; i++) {
		if (old_only && m->kids[i].gen == m->gen)
			continue;
		m->kids[i].stopping = true;
		kill(m->kids[i].pid, sig);
	}
}

/*
 * SIGHUP: read the configuration again; if it is good, start a new
 * generation of workers and let the old ones finish what they hold.
 */
static void
reload(struct master *m)
{
	struct settings	*ns;
	char		 err[512];
	size_t		 i;

	if ((ns = calloc(1, sizeof(*ns))) == NULL) {
		log_msg(LOG_LVL_ERROR, "reload: out of memory; keeping the "
		    "current workers");
		return;
	}
	if (settings_load(ns, m->config_file, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_ERROR, "reload: %s; keeping the current "
		    "workers", err);
		settings_free(ns);
		free(ns);
		return;
	}
	if (m->ov->workers > 0)
		ns->workers = m->ov->workers;
	if (m->ov->listen == NULL && ns->listen != NULL &&
	    strcmp(ns->listen, m->set->listen) != 0)
		log_msg(LOG_LVL_WARN, "reload: LISTEN cannot change without a "
		    "restart; keeping %s", m->set->listen);
	free(ns->listen);
	ns->listen = strdup(m->set->listen);
	if (ns->listen == NULL) {
		settings_free(ns);
		free(ns);
		return;
	}
	settings_free(m->set);
	free(m->set);
	m->set = ns;
	log_set_level(ns->log_level);
	m->gen++;
	/* New workers first: the old ones keep serving until they exit. */
	fill(m);
	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].gen != m->gen)
			metrics_restart(MR_RELOAD);
	signal_all(m, SIGQUIT, true);
	log_msg(LOG_LVL_INFO, "configuration reloaded; %lld new workers",
	    ns->workers);
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

/*
 * SIGTERM/SIGINT: no new connection may arrive (a unix socket is renamed
 * away, so nginx gets an immediate "no such file" and its JSON 502), the
 * socket becomes non-blocking so workers can drain what already waits in
 * the backlog, and every worker is told to finish.
 */
static void
begin_stop(struct master *m)
{
	int fl;

	if (m->state == M_STOPPING)
		return;
	m->state = M_STOPPING;
	m->deadline = now_s() + (time_t)m->set->shutdown_timeout;
	if (strncmp(m->set->listen, "unix:", 5) == 0) {
		snprintf(m->closing, sizeof(m->closing), "%s.closing",
		    m->set->listen + 5);
		if (rename(m->set->listen + 5, m->closing) != 0)
			m->closing[0] = '\0';
	}
	if ((fl = fcntl(m->fd, F_GETFL)) >= 0)
		fcntl(m->fd, F_SETFL, fl | O_NONBLOCK);
	signal_all(m, SIGTERM, false);
	poke(m, m->nkids);
	log_msg(LOG_LVL_INFO, "stopping: waiting up to %lld s for %zu "
	    "workers", m->set->shutdown_timeout, m->nkids);
}

int
master_run(struct settings *set, const char *config_file,
    const struct master_overrides *ov)
{
	static struct master	 m;
	struct pollfd		 pfd;
	char			 err[512], drain[64];
	int			 fl;

	memset(&m, 0, sizeof(m));
	m.set = set;
	m.config_file = config_file;
	m.ov = ov;
	m.self = getpid();
	m.fd = -1;
	if (set->listen == NULL) {
		log_msg(LOG_LVL_ERROR, "no socket to listen on: give --listen "
		    "or LISTEN");
		goto fail;
	}
	if (resolve_runas(set, &m.ra, err, sizeof(err)) != 0 ||
	    (m.fd = listen_open(set, &m.ra, err, sizeof(err))) < 0) {
		log_msg(LOG_LVL_ERROR, "%s", err);
		goto fail;
	}
	/* The workers inherit the socket; nothing else of ours leaks. */
	if ((fl = fcntl(m.fd, F_GETFD)) >= 0)
		fcntl(m.fd, F_SETFD, fl & ~FD_CLOEXEC);
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_msg(LOG_LVL_ERROR, "pipe: %s", strerror(errno));
		goto fail;
	}
	on_signal(SIGCHLD, master_signal, SA_RESTART | SA_NOCLDSTOP);
	on_signal(SIGTERM, master_signal, SA_RESTART);
	on_signal(SIGINT, master_signal, SA_RESTART);
	on_signal(SIGHUP, master_signal, SA_RESTART);
	on_signal(SIGPIPE, SIG_IGN, 0);

	/* Counters every worker and the master add to. */
	if (metrics_init(true) != 0)
		log_msg(LOG_LVL_WARN, "no shared memory for metrics");
	/* The status cache's table of the workers' reads (cache.h). */
	cache_seen_premap();
	log_msg(LOG_LVL_INFO, "listening on %s with %lld workers%s%s",
	    set->listen, set->workers, m.ra.drop ? " as " : "",
	    m.ra.drop ? m.ra.name : "");
	fill(&m);
	pfd.fd = wake_pipe[0];
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, 1000) > 0)
			while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
				;
		if (got_chld) {
			got_chld = 0;
			reap(&m);
		}
		if (got_term) {
			got_term = 0;
			begin_stop(&m);
		}
		if (got_hup) {
			got_hup = 0;
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
				signal_all(&m, SIGKILL, false);
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
	log_msg(LOG_LVL_INFO, "stopped");
	settings_free(m.set);
	free(m.set);
	return m.exit_code;
fail:
	if (m.fd >= 0)
		close(m.fd);
	settings_free(m.set);
	free(m.set);
	return 1;
}
