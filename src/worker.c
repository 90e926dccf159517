/*
 * worker.c - one FastCGI worker: the handlers of its signals, the proof a
 * worker on trial gives the master, and its accept loop (fcgi_run) around
 * one service (one database connection).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fcgi.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "worker.h"

static volatile sig_atomic_t	 worker_stop;

static void
worker_signal(int sig)
{
	if (sig == SIGUSR1)
		(void)log_reopen();	/* async-signal-safe */
	else
		worker_stop = 1;
}

void
worker_on_signal(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

void
worker_signals(sigset_t *hold)
{
	worker_on_signal(SIGTERM, worker_signal, 0);
	worker_on_signal(SIGINT, worker_signal, 0);
	worker_on_signal(SIGQUIT, worker_signal, 0);
	worker_on_signal(SIGUSR1, worker_signal, SA_RESTART);
	worker_on_signal(SIGHUP, SIG_IGN, 0);
	worker_on_signal(SIGUSR2, SIG_IGN, 0);
	worker_on_signal(SIGCHLD, SIG_DFL, 0);
	worker_on_signal(SIGPIPE, SIG_IGN, 0);
	sigemptyset(hold);
	sigaddset(hold, SIGTERM);
	sigaddset(hold, SIGINT);
	sigaddset(hold, SIGQUIT);
	sigaddset(hold, SIGUSR1);
	sigprocmask(SIG_BLOCK, hold, NULL);
}

/*
 * A worker of a reload on trial proves it can serve before it accepts
 * anything: it connects to the database and prepares the status query,
 * and tells the master through the ready pipe. Returns 0 when it may go
 * on to serve.
 */
static int
worker_prove(struct service *svc, int ready_fd)
{
	struct worker_ready msg;

	memset(&msg, 0, sizeof(msg));
	msg.pid = getpid();
	msg.ok = service_check(svc, msg.why, sizeof(msg.why)) == 0;
	if (write(ready_fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		msg.ok = 0;
	close(ready_fd);
	return msg.ok ? 0 : -1;
}

int
worker_serve(const struct settings *set, int fd, long long max_requests,
    int ready_fd)
{
	struct service	 svc;
	sigset_t	 hold;
	long long	 served;

	worker_signals(&hold);
	if (service_init(&svc, set) != 0) {
		log_msg(LOG_LVL_ERROR, "out of memory");
		return 1;
	}
	if (ready_fd >= 0 && worker_prove(&svc, ready_fd) != 0) {
		service_free(&svc);
		return WORKER_EX_NOTREADY;
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
	(void)metrics_init(METRICS_PRIVATE);
	metrics_slot_use(metrics_slot_reserve());
	return worker_serve(set, 0, 0, -1);
}
