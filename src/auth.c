/*
 * auth.c - the only module that includes libjwt. The algorithm is pinned:
 * libjwt picks the algorithm from the token's own header, so a token of
 * any other algorithm is refused here even where libjwt would accept it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <jwt.h>

#include "auth.h"
#include "b64url.h"
#include "intparse.h"
#include "json.h"
#include "siphash.h"
#include "uuid.h"

static const char *const err_names[AUTH__MAX] = {
	"ok", "no authorization header", "not a bearer token",
	"token too long", "invalid token or signature", "malformed token",
	"token signed with another algorithm", "token has no exp",
	"token expired", "token not yet valid", "claim of the wrong type",
	"user id is not a UUID", "wrong audience", "wrong issuer",
};

const char *
auth_err_str(enum auth_err e)
{
	return e < AUTH__MAX ? err_names[e] : "unknown";
}

/* True when the claim exists at all, of whatever type. */
static bool
has_claim(jwt_t *jwt, const char *name)
{
	char *js = jwt_get_grants_json(jwt, name);

	if (js == NULL)
		return false;
	free(js);
	return true;
}

/*
 * An integer claim: 1 found, 0 absent, -1 present with another type.
 * libjwt's jwt_get_grant_int() answers 0 for strings, reals and booleans,
 * so the claim's JSON text is read instead and must be a plain integer.
 */
static int
int_claim(jwt_t *jwt, const char *name, int64_t *out)
{
	char		*js = jwt_get_grants_json(jwt, name);
	long long	 v;
	int		 r;

	if (js == NULL)
		return 0;
	r = parse_int_range(js, -(1LL << 53), 1LL << 53, &v) ? 1 : -1;
	free(js);
	if (r > 0)
		*out = v;
	return r;
}

/* The audience check: aud is the expected string, or an array holding it. */
static bool
audience_ok(jwt_t *jwt, const char *want)
{
	char		*js = jwt_get_grants_json(jwt, "aud");
	struct jdoc	*doc = NULL;
	struct jref	 aud, el;
	char		 err[64];
	const char	*s;
	size_t		 n, i, wl = strlen(want);
	bool		 ok = false;

	if (js == NULL)
		return false;
	if (jdoc_parse(js, strlen(js), 4, &doc, err, sizeof(err)) == 0) {
		aud = jdoc_root(doc);
		if ((s = jref_string(aud, &n)) != NULL)
			ok = n == wl && memcmp(s, want, n) == 0;
		for (i = 0; !ok && i < jref_array_len(aud); i++) {
			el = jref_get_index(aud, i);
			if ((s = jref_string(el, &n)) != NULL)
				ok = n == wl && memcmp(s, want, n) == 0;
		}
	}
	jdoc_free(doc);
	free(js);
	return ok;
}

static enum auth_err
check_claims(const struct auth_cfg *cfg, jwt_t *jwt, int64_t now,
    struct auth_identity *id)
{
	int64_t		 exp, nbf;
	const char	*uid, *iss;
	int		 r;

	if ((r = int_claim(jwt, "exp", &exp)) == 0)
		return AUTH_NO_EXP;
	if (r < 0)
		return AUTH_BAD_CLAIM;
	if (now > exp + cfg->leeway)
		return AUTH_EXPIRED;
	if ((r = int_claim(jwt, "nbf", &nbf)) < 0)
		return AUTH_BAD_CLAIM;
	if (r > 0 && now + cfg->leeway < nbf)
		return AUTH_NOT_YET_VALID;
	if (cfg->audience != NULL && !audience_ok(jwt, cfg->audience))
		return AUTH_AUDIENCE;
	if (cfg->issuer != NULL && ((iss = jwt_get_grant(jwt, "iss")) == NULL ||
	    strcmp(iss, cfg->issuer) != 0))
		return AUTH_ISSUER;

	/* doc/decisions.md, D14: user_id, or sub for plain Supabase tokens. */
	if (has_claim(jwt, "user_id")) {
		if ((uid = jwt_get_grant(jwt, "user_id")) == NULL)
			return AUTH_BAD_CLAIM;
	} else if ((uid = jwt_get_grant(jwt, "sub")) == NULL)
		return has_claim(jwt, "sub") ? AUTH_BAD_CLAIM : AUTH_BAD_USER;
	if (!uuid_canon(uid, strlen(uid), id->user_id))
		return AUTH_BAD_USER;
	id->exp = exp;
	return AUTH_OK;
}

/*
 * The token's own header, read before any verification: its alg must be
 * one we hold a key for, and its kid picks the key. Returns false when the
 * header is not a JSON object with a string alg.
 */
static bool
read_header(const char *tok, size_t len, enum key_alg *alg, char *kid,
    size_t kidsz, bool *has_kid)
{
	const char	*dot = memchr(tok, '.', len), *s;
	struct buf	 raw;
	struct jdoc	*doc = NULL;
	struct jref	 h;
	char		 err[64];
	size_t		 n;
	bool		 ok = false;
	int		 i;

	if (dot == NULL)
		return false;
	buf_init(&raw);
	if (!b64url_decode(tok, (size_t)(dot - tok), &raw) ||
	    jdoc_parse(raw.data, raw.len, 4, &doc, err, sizeof(err)) != 0)
		goto out;
	h = jdoc_root(doc);
	if ((s = jref_string(jref_get(h, "alg"), &n)) == NULL)
		goto out;
	*alg = KEY__MAX;
	/* Exact, case-sensitive names (RFC 7518); libjwt's are not. */
	for (i = 0; i < KEY__MAX; i++)
		if (strlen(key_alg_name((enum key_alg)i)) == n &&
		    memcmp(s, key_alg_name((enum key_alg)i), n) == 0)
			*alg = (enum key_alg)i;
	*has_kid = false;
	if ((s = jref_string(jref_get(h, "kid"), &n)) != NULL) {
		if (n >= kidsz || memchr(s, '\0', n) != NULL)
			goto out;
		memcpy(kid, s, n);
		kid[n] = '\0';
		*has_kid = true;
	}
	ok = true;
out:
	jdoc_free(doc);
	buf_free(&raw);
	return ok;
}

static const jwt_alg_t libjwt_alg[KEY__MAX] = {
	JWT_ALG_HS256, JWT_ALG_RS256, JWT_ALG_ES256,
};

/*
 * Verify tok with one key. The key was chosen by the header's alg, so an
 * HS256 token is only ever checked against the HS256 secret, never against
 * a public key's bytes (algorithm confusion).
 */
static enum auth_err
try_key(const struct auth_cfg *cfg, const struct key *k, const char *tok,
    int64_t now, struct auth_identity *id)
{
	jwt_t		*jwt = NULL;
	enum auth_err	 e;

	if (k->len == 0 || k->len > INT32_MAX)
		return AUTH_INVALID;
	if (jwt_decode(&jwt, tok, k->bytes, (int)k->len) != 0 || jwt == NULL)
		return AUTH_INVALID;
	if (jwt_get_alg(jwt) != libjwt_alg[k->alg])
		e = AUTH_WRONG_ALG;
	else
		e = check_claims(cfg, jwt, now, id);
	jwt_free(jwt);
	return e;
}

/* The token of a "Bearer <token>" header value, and its length. */
static enum auth_err
bearer_token(const char *header, const char **tok, size_t *len)
{
	if (header == NULL || *header == '\0')
		return AUTH_MISSING;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return AUTH_NOT_BEARER;
	for (*tok = header + 7; **tok == ' '; (*tok)++)
		;
	*len = strnlen(*tok, AUTH_MAX_TOKEN + 1);
	if (*len > AUTH_MAX_TOKEN)
		return AUTH_TOO_LONG;
	if (*len == 0)
		return AUTH_MISSING;
	return AUTH_OK;
}

/*
 * Exactly three non-empty parts, each canonical base64url. libjwt decodes
 * leniently (padding, junk after the signature, non-zero unused bits), so
 * without this one signed token had many accepted spellings, each a new
 * entry of the token cache.
 */
static bool
canonical_jws(const char *tok, size_t len)
{
	const char	*end = tok + len, *dot;
	size_t		 n;
	int		 parts = 0;

	for (;;) {
		dot = memchr(tok, '.', (size_t)(end - tok));
		n = (size_t)((dot != NULL ? dot : end) - tok);
		if (n == 0 || !b64url_canonical(tok, n) || ++parts > 3)
			return false;
		if (dot == NULL)
			return parts == 3;
		tok = dot + 1;
	}
}

enum auth_err
auth_verify(const struct auth_cfg *cfg, const char *header, int64_t now,
    struct auth_identity *id)
{
	const char	*tok;
	size_t		 len, i;
	enum key_alg	 alg;
	enum auth_err	 e, best = AUTH_INVALID;
	char		 kid[128];
	bool		 has_kid, tried = false;
	int		 pass;

	if ((e = bearer_token(header, &tok, &len)) != AUTH_OK)
		return e;
	if (!canonical_jws(tok, len) ||
	    !read_header(tok, len, &alg, kid, sizeof(kid), &has_kid))
		return AUTH_MALFORMED;
	if (alg == KEY__MAX)
		return AUTH_WRONG_ALG;
	/* Pass 0: the key named by kid; pass 1 (no such key): keys without
	 * a kid, e.g. the legacy secret. */
	for (pass = 0; pass < 2 && !tried; pass++)
		for (i = 0; i < cfg->keys->n; i++) {
			const struct key *k = &cfg->keys->k[i];

			if (k->alg != alg)
				continue;
			if (pass == 0 && has_kid &&
			    (!k->has_kid || strcmp(k->kid, kid) != 0))
				continue;
			if (pass == 1 && k->has_kid)
				continue;
			tried = true;
			if ((e = try_key(cfg, k, tok, now, id)) == AUTH_OK)
				return AUTH_OK;
			if (e != AUTH_INVALID)
				best = e;	/* verified, but its claims fail */
		}
	return tried ? best : AUTH_WRONG_ALG;
}

/* ---- the cache of verified tokens ------------------------------------- */

/*
 * Entries hold a 128-bit keyed hash of the token (SipHash-2-4 under a
 * random key of this cache, drawn from getrandom(2) when it is made; not
 * of the header, whose scheme and spaces may be spelt several ways): 16
 * bytes instead of up to 8 KiB, so a cache large enough for every client
 * of a busy worker stays small. SipHash is a PRF: without the key, which
 * never leaves the process, nobody can make a token whose hash equals
 * that of another user's cached token, nor choose tokens that share a
 * slot; a chance collision of 128 bits is negligible. It costs a few
 * hundred instructions where SHA-256 cost about 9,000. A verified token
 * has one spelling (canonical_jws), so one entry; a token that is not
 * byte for byte a verified one misses and goes through auth_verify, so
 * the spelling check need not come before the lookup. The slot is chosen
 * by the hash's first bytes (a set of them: AUTH_WAYS).
 */
#define AUTH_DIGEST_LEN 16

/*
 * Sets of AUTH_WAYS entries, the least recently used one replaced: with
 * one entry per slot, two tokens in the same slot evicted each other, and
 * with the clients of a busy worker filling half the slots a fifth of
 * the lookups missed (each a signature check); in sets of four, 2 % (a
 * set of four holding five of them now and then); in sets of eight,
 * 0.5 %.
 */
#define AUTH_WAYS 8

struct auth_entry {
	unsigned char		 digest[AUTH_DIGEST_LEN];
	struct auth_identity	 id;
	uint64_t		 last;		/* the cache's tick at last use */
	bool			 used;
};

struct auth_cache {
	size_t			 sets;
	size_t			 ways;
	uint64_t		 tick;
	struct auth_entry	*e;
	unsigned char		 key[SIPHASH_KEY_LEN];
};

struct auth_cache *
auth_cache_new(size_t slots)
{
	struct auth_cache *c;

	if (slots == 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ways = slots < AUTH_WAYS ? slots : AUTH_WAYS;
	c->sets = (slots + c->ways - 1) / c->ways;
	/* No key, no cache: a guessable key would let a forged token hit. */
	if (getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key) ||
	    (c->e = calloc(c->sets * c->ways, sizeof(*c->e))) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
auth_cache_free(struct auth_cache *c)
{
	if (c == NULL)
		return;
	free(c->e);
	explicit_bzero(c->key, sizeof(c->key));
	free(c);
}

/* The token's digest and the first entry of its set. */
static struct auth_entry *
cache_set(const struct auth_cache *c, const char *tok, size_t n,
    unsigned char d[AUTH_DIGEST_LEN])
{
	uint64_t slot;

	siphash24_128(c->key, tok, n, d);
	memcpy(&slot, d, sizeof(slot));
	return &c->e[(slot % c->sets) * c->ways];
}

/* The token's live entry in its set, or NULL. */
static struct auth_entry *
cache_find(struct auth_cache *c, struct auth_entry *set,
    const unsigned char d[AUTH_DIGEST_LEN], int64_t now)
{
	size_t i;

	for (i = 0; i < c->ways; i++)
		if (set[i].used && memcmp(set[i].digest, d,
		    AUTH_DIGEST_LEN) == 0 && now <= set[i].id.exp) {
			set[i].last = ++c->tick;
			return &set[i];
		}
	return NULL;
}

/* Where a newly verified token goes: its own expired entry, a free one,
 * else the least recently used. */
static struct auth_entry *
cache_victim(const struct auth_cache *c, struct auth_entry *set,
    const unsigned char d[AUTH_DIGEST_LEN])
{
	struct auth_entry	*v = &set[0];
	size_t			 i;

	for (i = 0; i < c->ways; i++) {
		if (!set[i].used || memcmp(set[i].digest, d,
		    AUTH_DIGEST_LEN) == 0)
			return &set[i];
		if (set[i].last < v->last)
			v = &set[i];
	}
	return v;
}

enum auth_err
auth_verify_cached(const struct auth_cfg *cfg, struct auth_cache *c,
    const char *header, int64_t now, struct auth_identity *id, bool *hit)
{
	struct auth_entry	*set, *e;
	enum auth_err		 r;
	unsigned char		 d[AUTH_DIGEST_LEN];
	const char		*tok;
	size_t			 n;

	*hit = false;
	if (c == NULL || bearer_token(header, &tok, &n) != AUTH_OK)
		return auth_verify(cfg, header, now, id);
	set = cache_set(c, tok, n, d);
	if ((e = cache_find(c, set, d, now)) != NULL) {
		*id = e->id;
		*hit = true;
		return AUTH_OK;
	}
	if ((r = auth_verify(cfg, header, now, id)) != AUTH_OK)
		return r;
	e = cache_victim(c, set, d);
	memcpy(e->digest, d, sizeof(d));
	e->id = *id;
	e->last = ++c->tick;
	e->used = true;
	return r;
}

bool
auth_cache_lookup(struct auth_cache *c, const char *header, int64_t now,
    struct auth_identity *id)
{
	const struct auth_entry	*e;
	unsigned char		 d[AUTH_DIGEST_LEN];
	const char		*tok;
	size_t			 n;

	/* Keyed as auth_verify_cached keys it: by the token, not the header. */
	if (c == NULL || header == NULL ||
	    bearer_token(header, &tok, &n) != AUTH_OK ||
	    (e = cache_find(c, cache_set(c, tok, n, d), d, now)) == NULL)
		return false;
	*id = e->id;
	return true;
}
