/*
 * settings.c - the service's settings: defaults < configuration file <
 * environment. Values are checked here, once, so the rest of the program
 * sees typed, bounded values only.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "text.h"

#define OFF(f) offsetof(struct settings, f)

/* An integer setting and its bounds. */
struct int_setting {
	const char	*name;
	long long	 def;
	long long	 min;
	long long	 max;
	size_t		 off;
	int		 base;		/* 10, or 8 for modes */
};

static const struct int_setting int_settings[] = {
	{ "CACHE_TTL_MS", 1000, 0, 60000, OFF(cache_ttl_ms), 10 },
	{ "CACHE_ENTRIES", 32768, 0, 1048576, OFF(cache_entries), 10 },
	{ "CACHE_NOTIFY", 1, 0, 1, OFF(cache_notify), 10 },
	{ "JWT_LEEWAY", 30, 0, 3600, OFF(jwt_leeway), 10 },
	{ "MAX_BATCH", 32, 1, 1000, OFF(max_batch), 10 },
	{ "MAX_BODY", 65536, 256, 16 * 1024 * 1024, OFF(max_body), 10 },
	{ "MAX_QUERY", 16384, 256, 1024 * 1024, OFF(max_query), 10 },
	{ "DB_CONNECT_TIMEOUT", 3, 1, 600, OFF(db_connect_timeout), 10 },
	{ "DB_STATEMENT_TIMEOUT_MS", 2000, 1, 600000,
	    OFF(db_statement_timeout_ms), 10 },
	{ "DB_PREPARE", 1, 0, 1, OFF(db_prepare), 10 },
	{ "TOKEN_CACHE", 16384, 0, 1048576, OFF(token_cache), 10 },
	{ "ACCESS_LOG", 0, 0, 1, OFF(access_log), 10 },
	{ "WORKERS", 2, 1, 1024, OFF(workers), 10 },
	{ "MAX_REQUESTS", 1000000, 0, 1000000000, OFF(max_requests), 10 },
	{ "LISTEN_BACKLOG", 1024, 1, 65535, OFF(listen_backlog), 10 },
	{ "LISTEN_MODE", 0660, 0, 0777, OFF(listen_mode), 8 },
	{ "SHUTDOWN_TIMEOUT", 10, 1, 3600, OFF(shutdown_timeout), 10 },
};

/* String settings: name, field, default (NULL: unset). */
struct str_setting {
	const char	*name;
	size_t		 off;
	const char	*def;
};

static const struct str_setting str_settings[] = {
	{ "DATABASE_URL", OFF(database_url), NULL },
	{ "TRPC_BASE", OFF(trpc_base), "/trpc" },
	{ "METRICS_PATH", OFF(metrics_path), "/metrics" },
	{ "HEALTH_PATH", OFF(health_path), "/healthz" },
	{ "LISTEN", OFF(listen), NULL },
	{ "RUN_AS_USER", OFF(run_as_user), NULL },
	{ "RUN_AS_GROUP", OFF(run_as_group), NULL },
	{ "LISTEN_GROUP", OFF(listen_group), NULL },
	{ "JWT_AUDIENCE", OFF(jwt_audience), NULL },
	{ "JWT_ISSUER", OFF(jwt_issuer), NULL },
};

/* The configuration file, as NAME=value pairs. */
struct conf {
	char	**names;
	char	**values;
	size_t	  n;
};

static void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->names[i]);
		if (c->values[i] != NULL)
			memset(c->values[i], 0, strlen(c->values[i]));
		free(c->values[i]);
	}
	free(c->names);
	free(c->values);
	memset(c, 0, sizeof(*c));
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Read `path`: one NAME=value per line, '#' starts a comment line, blank
 * lines ignored, white space around names and values dropped. A later line
 * wins. Returns 0, or -1 with the line number in err.
 */
static int
conf_read(const char *path, struct conf *c, char *err, size_t errlen)
{
	FILE	*f;
	char	 line[4096], *eq, *name, *value, **nn, **nv;
	size_t	 lineno = 0;

	memset(c, 0, sizeof(*c));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "configuration file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%zu: line too long", path,
			    lineno);
			goto fail;
		}
		name = trim(line);
		if (*name == '\0' || *name == '#')
			continue;
		if ((eq = strchr(name, '=')) == NULL) {
			snprintf(err, errlen, "%s:%zu: expected NAME=value",
			    path, lineno);
			goto fail;
		}
		*eq = '\0';
		name = trim(name);
		value = trim(eq + 1);
		nn = realloc(c->names, (c->n + 1) * sizeof(*nn));
		if (nn != NULL)
			c->names = nn;
		nv = realloc(c->values, (c->n + 1) * sizeof(*nv));
		if (nv != NULL)
			c->values = nv;
		if (nn == NULL || nv == NULL ||
		    (c->names[c->n] = strdup(name)) == NULL)
			goto nomem;
		if ((c->values[c->n] = strdup(value)) == NULL) {
			free(c->names[c->n]);
			goto nomem;
		}
		c->n++;
	}
	fclose(f);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	fclose(f);
	conf_free(c);
	return -1;
}

/* The value of a setting: the environment, else the file, else NULL. */
static const char *
lookup(const struct conf *c, const char *name)
{
	const char	*v = getenv(name);
	size_t		 i;

	if (v != NULL && *v != '\0')
		return v;
	for (i = c->n; i > 0; i--)
		if (strcmp(c->names[i - 1], name) == 0)
			return *c->values[i - 1] != '\0' ? c->values[i - 1] :
			    NULL;
	return NULL;
}

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

static bool
parse_octal(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (*s < '0' || *s > '7')
		return false;
	errno = 0;
	v = strtoll(s, &end, 8);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* JWT_PUBLIC_KEYS: "[kid=]file.pem" entries separated by commas or spaces. */
static int
load_pem_list(struct keyring *kr, const char *list, char *err, size_t errlen)
{
	char	*copy, *tok, *save = NULL, *eq, why[384];
	int	 rc = 0;

	if ((copy = strdup(list)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ", \t", &save)) {
		eq = strchr(tok, '=');
		if (eq != NULL)
			*eq = '\0';
		if (keyring_add_pem_file(kr, eq ? tok : NULL, eq ? eq + 1 : tok,
		    why, sizeof(why)) != 0) {
			snprintf(err, errlen, "JWT_PUBLIC_KEYS: %s", why);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* Every key a token may be signed with. */
static int
load_keys(struct settings *s, const struct conf *c, char *err, size_t errlen)
{
	unsigned char	*secret = NULL;
	size_t		 len = 0;
	const char	*v;
	char		 why[384];
	int		 rc;

	if ((v = lookup(c, "JWT_SECRET_FILE")) != NULL) {
		if (read_secret_file(v, &secret, &len) != 0) {
			snprintf(err, errlen, "JWT_SECRET_FILE cannot be read "
			    "(%s)", strerror(errno ? errno : EINVAL));
			return -1;
		}
	} else if ((v = lookup(c, "JWT_SECRET")) != NULL) {
		len = strlen(v);
		if ((secret = malloc(len)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(secret, v, len);
	}
	if (secret != NULL) {
		if (len < 16) {
			snprintf(err, errlen, "the JWT secret is shorter than "
			    "16 bytes");
			memset(secret, 0, len);
			free(secret);
			return -1;
		}
		rc = keyring_add_secret(&s->keys, secret, len, err, errlen);
		memset(secret, 0, len);
		free(secret);
		if (rc != 0)
			return -1;
	}
	if ((v = lookup(c, "JWT_PUBLIC_KEYS")) != NULL &&
	    load_pem_list(&s->keys, v, err, errlen) != 0)
		return -1;
	if ((v = lookup(c, "JWT_JWKS_FILE")) != NULL &&
	    keyring_add_jwks_file(&s->keys, v, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "JWT_JWKS_FILE: %s", why);
		return -1;
	}
	if (s->keys.n == 0) {
		snprintf(err, errlen, "no JWT key: set JWT_SECRET (or "
		    "JWT_SECRET_FILE), JWT_PUBLIC_KEYS or JWT_JWKS_FILE");
		return -1;
	}
	return 0;
}

static int
load(struct settings *s, const struct conf *c, char *err, size_t errlen)
{
	const char	*v;
	size_t		 i;
	long long	 n;

	for (i = 0; i < sizeof(int_settings) / sizeof(int_settings[0]); i++) {
		const struct int_setting *is = &int_settings[i];
		bool ok;

		n = is->def;
		if ((v = lookup(c, is->name)) != NULL) {
			ok = is->base == 8 ?
			    parse_octal(v, is->min, is->max, &n) :
			    parse_int_range(v, is->min, is->max, &n);
			if (!ok) {
				snprintf(err, errlen, is->base == 8 ?
				    "%s must be an octal mode from %llo to "
				    "%llo" : "%s must be an integer from %lld "
				    "to %lld", is->name, is->min, is->max);
				return -1;
			}
		}
		*(long long *)(void *)((char *)s + is->off) = n;
	}
	for (i = 0; i < sizeof(str_settings) / sizeof(str_settings[0]); i++) {
		const struct str_setting *ss = &str_settings[i];
		char **dst = (char **)(void *)((char *)s + ss->off);

		if ((v = lookup(c, ss->name)) == NULL)
			v = ss->def;
		if (v != NULL && (*dst = strdup(v)) == NULL)
			goto nomem;
	}

	s->log_level = LOG_LVL_INFO;
	if ((v = lookup(c, "LOG_LEVEL")) != NULL &&
	    log_level_parse(v, &s->log_level) != 0) {
		snprintf(err, errlen, "LOG_LEVEL must be error, warn, info "
		    "or debug");
		return -1;
	}
	if ((v = lookup(c, "LOG_TARGET")) != NULL) {
		if (strcmp(v, "syslog") == 0)
			s->log_syslog = true;
		else if (strcmp(v, "stderr") != 0) {
			snprintf(err, errlen, "LOG_TARGET must be stderr or "
			    "syslog");
			return -1;
		}
	}
	if ((v = lookup(c, "TRPC_TRANSFORMER")) != NULL) {
		if (strcmp(v, "superjson") == 0)
			s->superjson = true;
		else if (strcmp(v, "none") != 0) {
			snprintf(err, errlen, "TRPC_TRANSFORMER must be none "
			    "or superjson");
			return -1;
		}
	}
	v = s->trpc_base;
	if (*v != '/' || strlen(v) > 256 || strpbrk(v, "?#,") != NULL) {
		snprintf(err, errlen, "TRPC_BASE must be a URL path starting "
		    "with / (at most 256 bytes)");
		return -1;
	}
	if (s->database_url == NULL) {
		snprintf(err, errlen, "DATABASE_URL is not set (a libpq "
		    "connection string or URI)");
		return -1;
	}

	if (load_keys(s, c, err, errlen) != 0)
		return -1;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
settings_load(struct settings *s, const char *file, char *err, size_t errlen)
{
	struct conf	 c;
	int		 rc;

	memset(s, 0, sizeof(*s));
	keyring_init(&s->keys);
	memset(&c, 0, sizeof(c));
	if (file != NULL && conf_read(file, &c, err, errlen) != 0)
		return -1;
	rc = load(s, &c, err, errlen);
	conf_free(&c);
	return rc;
}

void
settings_free(struct settings *s)
{
	size_t i;

	for (i = 0; i < sizeof(str_settings) / sizeof(str_settings[0]); i++)
		free(*(char **)(void *)((char *)s + str_settings[i].off));
	keyring_free(&s->keys);
	memset(s, 0, sizeof(*s));
}
