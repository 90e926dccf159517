/*
 * worker.h - one FastCGI worker: its signals, its service, its accept loop.
 * Used by the master for each forked worker (master.c) and directly by the
 * spawn-fcgi and mod_fcgid mode, where the spawner is the process manager.
 */
#ifndef CS_WORKER_H
#define CS_WORKER_H

#include <signal.h>
#include <sys/types.h>

#include "settings.h"

/* Exit status of a worker that cannot run at all (EX_CONFIG): the master
 * stops instead of respawning it. */
#define WORKER_EX_CONFIG 78
/* Exit status of a worker on trial that could not reach the database or
 * prepare the query (EX_TEMPFAIL): the reload is refused. */
#define WORKER_EX_NOTREADY 75

/* What a worker on trial tells the master through the ready pipe, in one
 * write (atomic: smaller than PIPE_BUF). */
struct worker_ready {
	pid_t		 pid;
	int		 ok;
	char		 why[248];
};

/* Install fn for sig (sigaction, nothing else blocked while it runs):
 * the worker's handlers and the master's alike. */
void	 worker_on_signal(int sig, void (*fn)(int), int flags);

/*
 * Install the worker's handlers: SIGTERM, SIGINT and SIGQUIT set the stop
 * flag, SIGUSR1 reopens the LOG_FILE; they stay blocked (added to the
 * process mask and to *hold) and fcgi_run delivers them between requests
 * and while idle. SIGHUP and SIGUSR2 are ignored (the master's business).
 */
void	 worker_signals(sigset_t *hold);

/*
 * Serve FastCGI on the listening socket fd until stopped or after
 * max_requests (0: no limit). With ready_fd >= 0 the worker is on trial:
 * it first connects and prepares the status query and writes one
 * struct worker_ready to ready_fd (then closes it). Installs the handlers
 * of worker_signals(). Returns the exit status: 0, 1, or
 * WORKER_EX_NOTREADY when the trial failed.
 */
int	 worker_serve(const struct settings *, int fd, long long max_requests,
	    int ready_fd);

/*
 * Serve FastCGI on the socket in fd 0 in this process (spawn-fcgi,
 * mod_fcgid), until SIGTERM/SIGINT or accept fails. Returns the exit status.
 */
int	 worker_run_fd0(const struct settings *);

#endif
