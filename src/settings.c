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
#include <sys/stat.h>

#include "cors.h"
#include "settings.h"
#include "text.h"

#define OFF(f) offsetof(struct settings, f)
#define CONF_MAX (1024 * 1024)

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
	{ "RATE_LIMIT", 20, 0, 1000000, OFF(rate_limit), 10 },
	{ "RATE_LIMIT_BURST", 60, 1, 1000000, OFF(rate_limit_burst), 10 },
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
	{ "STATUS_PATH", OFF(status_path), "/status" },
	{ "PID_FILE", OFF(pid_file), NULL },
	{ "LOG_FILE", OFF(log_file), NULL },
	{ "CORS_ORIGINS", OFF(cors_origins), NULL },
};

/*
 * The settings file, read as systemd reads an EnvironmentFile, but strictly:
 * a line that is not NAME=value is an error, not ignored.
 */
struct conf {
	char	**names;
	char	**values;
	size_t	 *lines;	/* where each assignment starts */
	bool	 *used;		/* read by some lookup() */
	size_t	  n;
	const char *path;
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
	free(c->lines);
	free(c->used);
	memset(c, 0, sizeof(*c));
}

static bool
name_char(char ch, bool first)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (!first && ch >= '0' && ch <= '9');
}

static bool
blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static int
conf_add(struct conf *c, const char *name, size_t namelen, char *value,
    size_t line)
{
	size_t	 n = c->n + 1;
	void	*p;

	if ((p = realloc(c->names, n * sizeof(*c->names))) == NULL)
		return -1;
	c->names = p;
	if ((p = realloc(c->values, n * sizeof(*c->values))) == NULL)
		return -1;
	c->values = p;
	if ((p = realloc(c->lines, n * sizeof(*c->lines))) == NULL)
		return -1;
	c->lines = p;
	if ((p = realloc(c->used, n * sizeof(*c->used))) == NULL)
		return -1;
	c->used = p;
	if ((c->names[c->n] = strndup(name, namelen)) == NULL)
		return -1;
	c->values[c->n] = value;
	c->lines[c->n] = line;
	c->used[c->n] = false;
	c->n++;
	return 0;
}

/*
 * Parse the text of a settings file (NUL-terminated, len bytes):
 *
 *   - blank lines and lines starting with '#' or ';' are ignored;
 *   - NAME=value, white space around NAME and '=' and at both ends of the
 *     value dropped; NAME is letters, digits and '_' (no "export");
 *   - "double quotes": \" \\ \` \$ are escapes, backslash-newline joins
 *     lines, anything else is kept as it is (newlines too);
 *   - 'single quotes': every character kept as it is, up to the next quote;
 *   - unquoted: a backslash keeps the next character, a backslash at the end
 *     of a line joins the next; '#' inside a value is part of it;
 *   - after a closing quote only white space may follow.
 *
 * A later assignment wins. Returns 0, or -1 with "path:line: why" in err.
 */
static int
conf_parse(struct conf *c, const char *path, const char *s, size_t len,
    char *err, size_t errlen)
{
	const char	*end = s + len, *name;
	size_t		 line = 1, start, namelen, vlen, vcap, keep;
	char		*v = NULL, q;

	while (s < end) {
		while (s < end && blank(*s))
			s++;
		if (s < end && *s == '\n') {
			s++;
			line++;
			continue;
		}
		if (s >= end)
			break;
		start = line;
		if (*s == '#' || *s == ';') {
			while (s < end && *s != '\n')
				s++;
			continue;
		}
		name = s;
		while (s < end && name_char(*s, s == name))
			s++;
		namelen = (size_t)(s - name);
		while (s < end && blank(*s))
			s++;
		if (namelen == 0 || s >= end || *s != '=') {
			if (namelen == 6 && memcmp(name, "export", 6) == 0)
				snprintf(err, errlen, "%s:%zu: \"export\" is not "
				    "allowed: write NAME=value", path, start);
			else
				snprintf(err, errlen, "%s:%zu: expected "
				    "NAME=value", path, start);
			goto fail;
		}
		s++;
		while (s < end && blank(*s))
			s++;
		vcap = (size_t)(end - s) + 1;
		if ((v = malloc(vcap)) == NULL)
			goto nomem;
		vlen = keep = 0;
		if (s < end && (*s == '"' || *s == '\'')) {
			q = *s++;
			for (;;) {
				if (s >= end) {
					snprintf(err, errlen, "%s:%zu: no closing "
					    "%c", path, start, q);
					goto fail;
				}
				if (*s == q) {
					s++;
					break;
				}
				if (*s == '\n')
					line++;
				if (q == '"' && *s == '\\' && s + 1 < end) {
					if (s[1] == '\n') {
						s += 2;
						line++;
						continue;
					}
					if (strchr("\"\\`$", s[1]) != NULL)
						s++;
				}
				v[vlen++] = *s++;
			}
			while (s < end && blank(*s))
				s++;
			if (s < end && *s != '\n') {
				snprintf(err, errlen, "%s:%zu: text after the "
				    "closing %c", path, start, q);
				goto fail;
			}
			keep = vlen;
		} else {
			while (s < end && *s != '\n') {
				if (*s == '\\' && s + 1 < end) {
					if (s[1] == '\n') {
						s += 2;
						line++;
						continue;
					}
					s++;
					v[vlen++] = *s++;
					keep = vlen;
					continue;
				}
				v[vlen++] = *s;
				if (!blank(*s))
					keep = vlen;
				s++;
			}
		}
		v[keep] = '\0';
		if (conf_add(c, name, namelen, v, start) != 0)
			goto nomem;
		v = NULL;
	}
	c->path = path;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (v != NULL) {
		memset(v, 0, vcap);
		free(v);
	}
	conf_free(c);
	return -1;
}

/* Read `path` whole (at most 1 MiB) and parse it. */
static int
conf_read(const char *path, struct conf *c, char *err, size_t errlen)
{
	FILE	*f;
	char	*text;
	size_t	 n;
	int	 rc;

	memset(c, 0, sizeof(*c));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "configuration file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((text = malloc(CONF_MAX + 2)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(text, 1, CONF_MAX + 1, f);
	if (ferror(f) || n > CONF_MAX) {
		snprintf(err, errlen, "configuration file %s: %s", path,
		    ferror(f) ? strerror(errno) : "larger than 1 MiB");
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	text[n] = '\0';
	if (memchr(text, '\0', n) != NULL) {
		snprintf(err, errlen, "configuration file %s: holds a NUL "
		    "byte", path);
		rc = -1;
	} else
		rc = conf_parse(c, path, text, n, err, errlen);
	memset(text, 0, n);
	free(text);
	return rc;
}

/* The value of a setting: the environment, else the file, else NULL.
 * Every name looked up is a known setting (see conf_unknown). */
static const char *
lookup(const struct conf *c, const char *name)
{
	const char	*v = getenv(name), *fv = NULL;
	size_t		 i;

	for (i = c->n; i > 0; i--)
		if (strcmp(c->names[i - 1], name) == 0) {
			if (fv == NULL)
				fv = c->values[i - 1];
			c->used[i - 1] = true;
		}
	if (v != NULL && *v != '\0')
		return v;
	return fv != NULL && *fv != '\0' ? fv : NULL;
}

/* A name in the file that no lookup() asked for: a typo, or a setting this
 * version does not have. */
static int
conf_unknown(const struct conf *c, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!c->used[i]) {
			snprintf(err, errlen, "%s:%zu: unknown setting %s",
			    c->path, c->lines[i], c->names[i]);
			return -1;
		}
	return 0;
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
	const char	*v, *plain;
	char		 why[384];
	int		 rc;

	/* Both are looked up, so that either is a known name in the file. */
	plain = lookup(c, "JWT_SECRET");
	if ((v = lookup(c, "JWT_SECRET_FILE")) != NULL) {
		if (plain != NULL)
			log_msg(LOG_LVL_WARN, "JWT_SECRET is ignored: "
			    "JWT_SECRET_FILE wins");
		if (read_secret_file(v, &secret, &len) != 0) {
			snprintf(err, errlen, "JWT_SECRET_FILE cannot be read "
			    "(%s)", strerror(errno ? errno : EINVAL));
			return -1;
		}
	} else if ((v = plain) != NULL) {
		len = strlen(v);
		if ((secret = malloc(len)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(secret, v, len);
	}
	if (secret != NULL) {
		/* The example settings file ships a placeholder long enough to
		 * pass the length check: never start with it as a real key. */
		if (len >= 9 && memcmp(secret, "CHANGE-ME", 9) == 0) {
			snprintf(err, errlen, "the JWT secret is still the "
			    "example's placeholder (CHANGE-ME...)");
			memset(secret, 0, len);
			free(secret);
			return -1;
		}
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
	if (cors_check(s->cors_origins, err, errlen) != 0)
		return -1;
	if (s->database_url == NULL) {
		snprintf(err, errlen, "DATABASE_URL is not set (a libpq "
		    "connection string or URI)");
		return -1;
	}

	s->workers_given = lookup(c, "WORKERS") != NULL;
	if (s->log_file != NULL && s->log_file[0] != '/') {
		snprintf(err, errlen, "LOG_FILE must be an absolute path");
		return -1;
	}
	if (s->pid_file != NULL && s->pid_file[0] != '/') {
		snprintf(err, errlen, "PID_FILE must be an absolute path");
		return -1;
	}

	if (load_keys(s, c, err, errlen) != 0)
		return -1;
	/* Last: every setting has been looked up by now. */
	return conf_unknown(c, err, errlen);
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

bool
settings_file_exposed(const char *file)
{
	struct stat st;

	if (file == NULL || stat(file, &st) != 0 || (st.st_mode & S_IROTH) == 0)
		return false;
	log_msg(LOG_LVL_WARN, "the settings file %s is readable by every user "
	    "(mode %04o) and may hold secrets: chmod o-r it", file,
	    (unsigned)(st.st_mode & 07777));
	return true;
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
