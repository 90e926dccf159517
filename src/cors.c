/* cors.c - cross-origin calls from browsers, by exact origins. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cors.h"
#include "trpc.h"

/*
 * What the tRPC clients send besides the CORS-safelisted headers:
 * @trpc/client 11: content-type (POST), trpc-accept (httpBatchStreamLink);
 * @trpc/client 10: content-type, trpc-batch-mode (its httpBatchStreamLink);
 * front ends: authorization (the token), x-trpc-source (create-t3-app and
 * others name the caller with it). accept and accept-language are safelisted
 * only for plain values, so they are listed too.
 */
static const char ALLOW_HEADERS[] = "authorization, content-type, "
    "trpc-accept, trpc-batch-mode, x-trpc-source, accept, accept-language";
/* Chromium caps a preflight's lifetime at 2 hours; Firefox at 24. */
static const char MAX_AGE[] = "7200";
static const char MSG_REFUSED[] = "Origin not allowed";

/* Validate and normalise one origin into *out (malloc'd). */
static int
parse_origin(const char *s, size_t n, size_t nth, char **out, char *err,
    size_t errlen)
{
	const char	*p, *end = s + n, *host, *host_end;
	char		*o;
	size_t		 i;
	long		 port = 0, default_port;

	if (n > 0 && s[n - 1] == '/') {
		n--;
		end--;
	}
	if (n == 1 && *s == '*') {
		snprintf(err, errlen, "CORS_ORIGINS: \"*\" (entry %zu) is not "
		    "accepted; list the exact origins (https://app.example.com)",
		    nth);
		return -1;
	}
	if (n >= 7 && strncasecmp(s, "http://", 7) == 0) {
		host = s + 7;
		default_port = 80;
	} else if (n >= 8 && strncasecmp(s, "https://", 8) == 0) {
		host = s + 8;
		default_port = 443;
	} else
		goto bad;
	p = host;
	if (p < end && *p == '[') {
		while (p < end && *p != ']' &&
		    (isxdigit((unsigned char)*p) || *p == ':' || *p == '.' ||
		    *p == '['))
			p++;
		if (p >= end || *p != ']' || p == host + 1)
			goto bad;
		p++;
	} else {
		while (p < end && (isalnum((unsigned char)*p) || *p == '-' ||
		    *p == '.'))
			p++;
		if (p == host)
			goto bad;
	}
	host_end = p;
	if (p < end && *p == ':') {
		const char *d = ++p;

		while (p < end && isdigit((unsigned char)*p) && port <= 65535)
			port = port * 10 + (*p++ - '0');
		if (p == d || p - d > 5 || port < 1 || port > 65535)
			goto bad;
	}
	if (p != end)
		goto bad;
	/* As the browser serialises it: no default port, the port in
	 * plain decimal (":443" of https, ":0080" become nothing, ":80"). */
	n = (size_t)(host_end - s);
	if ((o = malloc(n + sizeof(":65535"))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		o[i] = (char)tolower((unsigned char)s[i]);
	o[n] = '\0';
	if (port != 0 && port != default_port)
		snprintf(o + n, sizeof(":65535"), ":%ld", port);
	*out = o;
	return 0;
bad:
	snprintf(err, errlen, "CORS_ORIGINS: entry %zu is not an origin, "
	    "http[s]://host[:port] with no path", nth);
	return -1;
}

int
cors_parse(struct cors *c, const char *list, char *err, size_t errlen)
{
	const char	*p = list, *e;

	memset(c, 0, sizeof(*c));
	if (list == NULL)
		return 0;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		for (e = p; *e != '\0' && *e != ',' && *e != ' ' && *e != '\t';
		    e++)
			;
		if (c->n == CORS_MAX_ORIGINS) {
			snprintf(err, errlen, "CORS_ORIGINS: more than %d "
			    "origins", CORS_MAX_ORIGINS);
			break;
		}
		if (parse_origin(p, (size_t)(e - p), c->n + 1,
		    &c->origins[c->n], err, errlen) != 0)
			break;
		c->n++;
		p = e;
	}
	cors_free(c);
	return -1;
}

int
cors_check(const char *list, char *err, size_t errlen)
{
	struct cors c;

	if (cors_parse(&c, list, err, errlen) != 0)
		return -1;
	cors_free(&c);
	return 0;
}

void
cors_free(struct cors *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->origins[i]);
	memset(c, 0, sizeof(*c));
}

bool
cors_allowed(const struct cors *c, const char *origin)
{
	size_t i;

	if (c == NULL || origin == NULL)
		return false;
	/* Browsers send the serialised origin: lower-case scheme and host,
	 * no default port, no path. Anything else is not on the list. */
	for (i = 0; i < c->n; i++)
		if (strcmp(c->origins[i], origin) == 0)
			return true;
	return false;
}

bool
cors_preflight(const struct cors *c, const struct http_req *req,
    struct http_resp *resp)
{
	if (c == NULL || c->n == 0 || req->method == NULL ||
	    strcmp(req->method, "OPTIONS") != 0 || req->origin == NULL ||
	    req->cors_method == NULL)
		return false;
	http_resp_reset(resp);
	http_resp_header(resp, "Vary", "Origin");
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "X-Content-Type-Options", "nosniff");
	if (!cors_allowed(c, req->origin)) {
		/* A clear refusal, and nothing the browser could take as
		 * permission. */
		resp->status = 403;
		http_resp_header(resp, "Content-Type", "application/json");
		trpc_write_error(&resp->body, TRPC_FORBIDDEN, MSG_REFUSED,
		    sizeof(MSG_REFUSED) - 1, NULL, 0);
		return true;
	}
	resp->status = 204;
	http_resp_header(resp, "Access-Control-Allow-Origin", req->origin);
	http_resp_header(resp, "Access-Control-Allow-Methods", "GET, POST");
	http_resp_header(resp, "Access-Control-Allow-Headers", ALLOW_HEADERS);
	http_resp_header(resp, "Access-Control-Max-Age", MAX_AGE);
	return true;
}

void
cors_headers(const struct cors *c, const struct http_req *req,
    struct http_resp *resp)
{
	if (!cors_allowed(c, req->origin))
		return;
	http_resp_header(resp, "Access-Control-Allow-Origin", req->origin);
	http_resp_header(resp, "Access-Control-Expose-Headers", "Retry-After");
}
