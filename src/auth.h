/* auth.h - bearer token verification (libjwt behind it). */
#ifndef CS_AUTH_H
#define CS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "uuid.h"

/* Longest token accepted; Supabase tokens are well under 2 KiB. */
#define AUTH_MAX_TOKEN 8192

struct auth_cfg {
	const struct keyring	*keys;		/* HS256 secret, RS256/ES256 keys */
	int64_t			 leeway;	/* seconds, for exp and nbf */
	const char		*audience;	/* aud must hold it, or NULL */
	const char		*issuer;	/* iss must equal it, or NULL */
};

/* Why a token was refused (for debug logs; the client sees one message). */
enum auth_err {
	AUTH_OK,
	AUTH_MISSING,		/* no Authorization header */
	AUTH_NOT_BEARER,	/* another scheme */
	AUTH_TOO_LONG,
	AUTH_INVALID,		/* bad signature, or unreadable */
	AUTH_MALFORMED,		/* not a canonical JWS: no key tried */
	AUTH_WRONG_ALG,		/* signed with another algorithm */
	AUTH_NO_EXP,
	AUTH_EXPIRED,
	AUTH_NOT_YET_VALID,
	AUTH_BAD_CLAIM,		/* nbf or user id of the wrong type */
	AUTH_BAD_USER,		/* user id is not a UUID */
	AUTH_AUDIENCE,		/* aud does not name us */
	AUTH_ISSUER,		/* iss is not the configured one */
	AUTH__MAX
};

struct auth_identity {
	char	 user_id[UUID_STRLEN + 1];	/* canonical lower case */
	int64_t	 exp;
};

/*
 * Verify an Authorization header value at time `now` (seconds since the
 * epoch): "Bearer <jwt>" signed with one of the configured keys, chosen by
 * the token's alg (exactly HS256, RS256 or ES256, and only where a key of
 * that kind is configured) and kid; exp required, nbf honoured, both with
 * the leeway; aud and iss checked when configured; the user id is the
 * user_id claim or else sub, and must be a UUID. Fills id on AUTH_OK.
 */
enum auth_err auth_verify(const struct auth_cfg *, const char *header,
	    int64_t now, struct auth_identity *id);
/*
 * A per-worker cache of verified tokens: the same client sends the same
 * token every 2 seconds. Entries are keyed by a hash of the token, compared
 * in full, and never used past the token's exp; refusals are not cached.
 */
struct auth_cache;

/* A cache of `slots` entries (in sets of eight, the least recently used
 * replaced) under a random hash key; NULL when slots is 0 (off), on
 * ENOMEM or when getrandom(2) fails. */
struct auth_cache *auth_cache_new(size_t slots);
void	 auth_cache_free(struct auth_cache *);
/* auth_verify(), answering from the cache (which may be NULL) when it can;
 * *hit says whether it did. */
enum auth_err auth_verify_cached(const struct auth_cfg *, struct auth_cache *,
	    const char *header, int64_t now, struct auth_identity *id,
	    bool *hit);

/* Only the cache's answer: true (and id filled) when it holds header as a
 * token valid at `now`; nothing is verified. */
bool	 auth_cache_lookup(struct auth_cache *, const char *header,
	    int64_t now, struct auth_identity *id);

/* A short fixed description of the reason (never the token). */
const char *auth_err_str(enum auth_err);

#endif
