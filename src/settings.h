/* settings.h - the service's settings, read from the environment. */
#ifndef CS_SETTINGS_H
#define CS_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

struct settings {
	char		*database_url;
	unsigned char	*jwt_secret;
	size_t		 jwt_secret_len;
	char		*trpc_base;
	long long	 cache_ttl_ms;
	long long	 jwt_leeway;
	long long	 max_batch;
	long long	 max_body;
	long long	 max_query;
	long long	 db_connect_timeout;
	long long	 db_statement_timeout_ms;
	long long	 db_prepare;
	long long	 token_cache;
	enum log_level	 log_level;
	bool		 log_syslog;	/* LOG_TARGET=syslog */
	bool		 superjson;	/* TRPC_TRANSFORMER=superjson */
};

/*
 * Read every setting from the environment (see README, "Configuration"),
 * applying defaults. Returns 0, or -1 with a message naming the variable
 * in err (never its value). settings_free() releases what was read.
 */
int	 settings_load(struct settings *, char *err, size_t errlen);
void	 settings_free(struct settings *);

#endif
