/*
 * master.h - the process master in the php-fpm mould: one listening
 * socket, N forked workers (worker.h) supervised, recycled and reloaded.
 */
#ifndef CS_MASTER_H
#define CS_MASTER_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"
/* worker_run_fd0() for main.c, until it includes worker.h itself. */
#include "worker.h"

/* Settings given on the command line; they win over file and environment,
 * also after a reload. */
struct master_overrides {
	const char	*listen;	/* NULL: from the settings */
	long long	 workers;	/* 0: from the settings */
};

/*
 * Bind the configured socket (set->listen), start set->workers workers and
 * supervise them until SIGTERM/SIGINT: reap and replace workers that die
 * (with a crash-loop brake), recycle them after set->max_requests, reload
 * the configuration from `config_file` (and the environment) on SIGHUP.
 * Takes ownership of *set. Returns the process exit status.
 */
int	 master_run(struct settings *set, const char *config_file,
	    const struct master_overrides *);

/* A worker the master reaped: what it was and how it ended. */
struct worker_exit {
	int	 status;	/* as waitpid() reports it */
	bool	 trial;		/* of a reload not yet committed */
	bool	 current_trial;	/* ... and that reload is still on trial */
	bool	 stopping;	/* the master told it to finish and exit */
	bool	 running;	/* the master is running, not stopping */
};

/* What the master does about it. */
enum worker_end {
	WE_IGNORE,	/* a trial of a reload already decided, or the
			 * master's own SIGKILL of a straggler */
	WE_TRIAL_FAILED, /* a worker of the reload on trial died: abort it */
	WE_RECYCLED,	/* exit 0 of its own (MAX_REQUESTS): count, replace */
	WE_DONE,	/* exit 0 when told to stop, or while stopping */
	WE_CANNOT_RUN,	/* WORKER_EX_CONFIG: stop the master, exit 1 */
	WE_CRASHED,	/* died otherwise while running: log, count towards
			 * the crash-loop brake, replace */
	WE_FAILED	/* died otherwise while stopping: log only */
};

/* The master's transition for a reaped worker (pure). */
enum worker_end master_worker_end(const struct worker_exit *);

/*
 * What the real start of a pool would refuse, checked without binding or
 * forking (--check-config): root without RUN_AS_USER, a user or group that
 * does not exist, a LISTEN that cannot be parsed or whose directory does
 * not exist, a PID_FILE or LOG_FILE in a directory that does not exist.
 * Returns 0, or -1 with the reason in err.
 */
int	 master_check(const struct settings *, char *err, size_t errlen);

/*
 * Make the memory of argv and environ available for process titles (so
 * that ps tells the master from its workers) and return a copy of argv to
 * use instead. Call first thing in main(), before anything keeps a pointer
 * into argv or the environment.
 */
char	**master_proctitle_init(int argc, char **argv);

#endif
