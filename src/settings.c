/* settings.c - the service's settings, read from the environment. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "text.h"

/* An integer setting and its bounds. */
struct int_setting {
	const char	*name;
	long long	 def;
	long long	 min;
	long long	 max;
	size_t		 off;
};

#define OFF(f) offsetof(struct settings, f)

static const struct int_setting int_settings[] = {
	{ "CACHE_TTL_MS", 1000, 0, 60000, OFF(cache_ttl_ms) },
	{ "JWT_LEEWAY", 30, 0, 3600, OFF(jwt_leeway) },
	{ "MAX_BATCH", 32, 1, 1000, OFF(max_batch) },
	{ "MAX_BODY", 65536, 256, 16 * 1024 * 1024, OFF(max_body) },
	{ "MAX_QUERY", 16384, 256, 1024 * 1024, OFF(max_query) },
	{ "DB_CONNECT_TIMEOUT", 3, 1, 600, OFF(db_connect_timeout) },
	{ "DB_STATEMENT_TIMEOUT_MS", 2000, 1, 600000,
	    OFF(db_statement_timeout_ms) },
	{ "DB_PREPARE", 1, 0, 1, OFF(db_prepare) },
	{ "TOKEN_CACHE", 256, 0, 65536, OFF(token_cache) },
};

/* Read a whole secret file (at most 64 KiB), trailing newlines dropped. */
static int
read_secret_file(const char *path, unsigned char **out, size_t *len)
{
	FILE		*f;
	unsigned char	*p;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if ((p = malloc(65537)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(p, 1, 65537, f);
	if (ferror(f) || n > 65536) {
		fclose(f);
		free(p);
		return -1;
	}
	fclose(f);
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	*out = p;
	*len = n;
	return 0;
}

int
settings_load(struct settings *s, char *err, size_t errlen)
{
	const char	*v;
	size_t		 i;
	long long	 n;

	memset(s, 0, sizeof(*s));
	s->log_level = LOG_LVL_INFO;
	for (i = 0; i < sizeof(int_settings) / sizeof(int_settings[0]); i++) {
		const struct int_setting *is = &int_settings[i];

		n = is->def;
		if ((v = getenv(is->name)) != NULL && *v != '\0' &&
		    !parse_int_range(v, is->min, is->max, &n)) {
			snprintf(err, errlen, "%s must be an integer from "
			    "%lld to %lld", is->name, is->min, is->max);
			return -1;
		}
		*(long long *)(void *)((char *)s + is->off) = n;
	}
	if ((v = getenv("LOG_LEVEL")) != NULL && *v != '\0' &&
	    log_level_parse(v, &s->log_level) != 0) {
		snprintf(err, errlen, "LOG_LEVEL must be error, warn, info "
		    "or debug");
		return -1;
	}
	if ((v = getenv("LOG_TARGET")) != NULL && *v != '\0') {
		if (strcmp(v, "syslog") == 0)
			s->log_syslog = true;
		else if (strcmp(v, "stderr") != 0) {
			snprintf(err, errlen, "LOG_TARGET must be stderr or "
			    "syslog");
			return -1;
		}
	}
	if ((v = getenv("TRPC_TRANSFORMER")) != NULL && *v != '\0') {
		if (strcmp(v, "superjson") == 0)
			s->superjson = true;
		else if (strcmp(v, "none") != 0) {
			snprintf(err, errlen, "TRPC_TRANSFORMER must be none "
			    "or superjson");
			return -1;
		}
	}
	v = getenv("TRPC_BASE");
	if (v == NULL || *v == '\0')
		v = "/trpc";
	if (*v != '/' || strlen(v) > 256 || strpbrk(v, "?#,") != NULL) {
		snprintf(err, errlen, "TRPC_BASE must be a URL path starting "
		    "with / (at most 256 bytes)");
		return -1;
	}
	if ((s->trpc_base = strdup(v)) == NULL)
		goto nomem;

	if ((v = getenv("DATABASE_URL")) == NULL || *v == '\0') {
		snprintf(err, errlen, "DATABASE_URL is not set (a libpq "
		    "connection string or URI)");
		return -1;
	}
	if ((s->database_url = strdup(v)) == NULL)
		goto nomem;

	if ((v = getenv("JWT_SECRET_FILE")) != NULL && *v != '\0') {
		if (read_secret_file(v, &s->jwt_secret,
		    &s->jwt_secret_len) != 0) {
			snprintf(err, errlen, "JWT_SECRET_FILE cannot be read "
			    "(%s)", strerror(errno ? errno : EINVAL));
			return -1;
		}
	} else if ((v = getenv("JWT_SECRET")) != NULL && *v != '\0') {
		s->jwt_secret_len = strlen(v);
		if ((s->jwt_secret = malloc(s->jwt_secret_len)) == NULL)
			goto nomem;
		memcpy(s->jwt_secret, v, s->jwt_secret_len);
	} else {
		snprintf(err, errlen, "JWT_SECRET (or JWT_SECRET_FILE) is "
		    "not set");
		return -1;
	}
	if (s->jwt_secret_len < 16) {
		snprintf(err, errlen, "the JWT secret is shorter than 16 "
		    "bytes");
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
settings_free(struct settings *s)
{
	free(s->database_url);
	if (s->jwt_secret != NULL)
		memset(s->jwt_secret, 0, s->jwt_secret_len);
	free(s->jwt_secret);
	free(s->trpc_base);
	memset(s, 0, sizeof(*s));
}
