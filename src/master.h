/*
 * master.h - the process master in the php-fpm mould, and the worker side
 * shared by every FastCGI mode.
 */
#ifndef CS_MASTER_H
#define CS_MASTER_H

#include "settings.h"

/* Exit status of a worker that cannot run at all (EX_CONFIG): the master
 * stops instead of respawning it. */
#define MASTER_EX_CONFIG 78

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

/*
 * Serve FastCGI on the socket in fd 0 in this process (spawn-fcgi,
 * mod_fcgid), until SIGTERM/SIGINT or accept fails. Returns the exit status.
 */
int	 worker_run_fd0(const struct settings *);

#endif
