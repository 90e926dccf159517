/*
 * settings.h - the service's settings: defaults, overridden by an optional
 * configuration file (-c FILE, NAME=value lines), overridden by the
 * environment. Every setting is documented in the README's table.
 * A name in the file that no part of the program reads is an error: a new
 * setting needs only its entry in a table of settings.c (or a lookup()).
 */
#ifndef CS_SETTINGS_H
#define CS_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "log.h"

struct settings {
	/* the service */
	char		*database_url;
	struct keyring	 keys;		/* JWT_SECRET, JWT_PUBLIC_KEYS, JWT_JWKS_FILE */
	char		*jwt_audience;
	char		*jwt_issuer;
	char		*trpc_base;
	char		*metrics_path;	/* "" turns it off */
	char		*health_path;
	bool		 superjson;	/* TRPC_TRANSFORMER=superjson */
	long long	 cache_ttl_ms;
	long long	 cache_entries;	/* bound of the status cache */
	long long	 cache_notify;	/* LISTEN where possible */
	long long	 jwt_leeway;
	long long	 max_batch;
	long long	 max_body;
	long long	 max_query;
	long long	 db_connect_timeout;
	long long	 db_statement_timeout_ms;
	long long	 db_prepare;
	long long	 token_cache;
	char		*cors_origins;	/* CORS_ORIGINS; NULL: CORS off */
	long long	 rate_limit;	/* calls per second per client; 0 off */
	long long	 rate_limit_burst;
	/* logging */
	enum log_level	 log_level;
	bool		 log_syslog;	/* LOG_TARGET=syslog */
	long long	 access_log;
	/* the process master (--listen) */
	char		*listen;	/* unix:/path or host:port */
	long long	 workers;
	long long	 max_requests;
	long long	 listen_backlog;
	long long	 listen_mode;	/* octal permissions of a unix socket */
	long long	 shutdown_timeout;
	char		*run_as_user;
	char		*run_as_group;
	char		*listen_group;
	bool		 workers_given;	/* WORKERS set in the file or environment */
	char		*pid_file;	/* PID_FILE: the master writes its pid */
	char		*log_file;	/* LOG_FILE: stderr goes there, reopened on SIGUSR1 */
	char		*status_path;	/* STATUS_PATH: the human status page; "off" */
};

/*
 * Read every setting: defaults, then `file` (may be NULL), then the
 * environment. Returns 0, or -1 with a message naming the setting in err
 * (never its value). settings_free() releases what was read, also after
 * a failure.
 */
int	 settings_load(struct settings *, const char *file, char *err,
	    size_t errlen);
void	 settings_free(struct settings *);
/*
 * Warn (log) when the settings file can be read by every user: it holds
 * the database password and the JWT secret. Returns true if it warned.
 */
bool	 settings_file_exposed(const char *file);

#endif
