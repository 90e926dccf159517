/*
 * cors.h - cross-origin calls from browsers, by exact origins (CORS_ORIGINS).
 *
 * Off when no origin is configured: the service then answers exactly as
 * before (an OPTIONS request is a 405). With origins configured:
 *
 * - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
 *   from an allowed origin gets 204 with Access-Control-Allow-Origin (that
 *   origin), -Allow-Methods, -Allow-Headers (what tRPC clients send) and
 *   -Max-Age; from any other origin a 403 FORBIDDEN tRPC error with no
 *   Access-Control-* header, so the browser stops there;
 * - every other answer to an allowed origin carries
 *   Access-Control-Allow-Origin and Access-Control-Expose-Headers
 *   (Retry-After); answers to other origins carry none;
 * - every answer says Vary: Origin, since it depends on it.
 *
 * No Access-Control-Allow-Credentials: calls carry a bearer token, never a
 * cookie. "*" is refused: the list is of exact origins.
 */
#ifndef CS_CORS_H
#define CS_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define CORS_MAX_ORIGINS	64

struct cors {
	char	*origins[CORS_MAX_ORIGINS];	/* "https://app.example.com" */
	size_t	 n;				/* 0: CORS off */
};

/*
 * Parse CORS_ORIGINS (may be NULL: off): origins separated by commas or
 * spaces, each scheme://host[:port] with scheme http or https and nothing
 * after the authority (a trailing '/' is dropped); kept as browsers
 * serialise an Origin: scheme and host in lower case, no default port.
 * Returns 0, or -1 with a message in err (naming the setting and the
 * entry's number, never its text, as for every setting); the struct is
 * then empty. cors_free() releases what was parsed.
 */
int	 cors_parse(struct cors *, const char *list, char *err, size_t errlen);
void	 cors_free(struct cors *);
/* Whether CORS_ORIGINS (may be NULL) parses: 0, or -1 with err set. */
int	 cors_check(const char *list, char *err, size_t errlen);

/* True when CORS is on and `origin` (an Origin header) is on the list. */
bool	 cors_allowed(const struct cors *, const char *origin);

/*
 * When CORS is on and req is a preflight, write its whole answer into
 * resp and return true; otherwise false, resp untouched.
 */
bool	 cors_preflight(const struct cors *, const struct http_req *,
	    struct http_resp *);

/* Add the answer's CORS headers (when CORS is on and the origin allowed). */
void	 cors_headers(const struct cors *, const struct http_req *,
	    struct http_resp *);

#endif
