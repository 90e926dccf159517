/* check_auth.c - bearer tokens: the good one and every way to be refused. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "auth.h"
#include "siphash.h"

#define SUITE_NAME "auth"
#include "check_main.h"

#define SECRET "super-secret-jwt-token-with-at-least-32-characters"
#define USER "11111111-2222-3333-4444-555555555555"
#define NOW INT64_C(1800000000)

/* The HS256 secret alone: the default deployment. */
static struct keyring hs_ring;
static struct auth_cfg cfg = { &hs_ring, 30, NULL, NULL };

static void
setup(void)
{
	char err[256];

	keyring_init(&hs_ring);
	ck_assert_int_eq(keyring_add_secret(&hs_ring,
	    (const unsigned char *)SECRET, sizeof(SECRET) - 1, err,
	    sizeof(err)), 0);
}

static void
teardown(void)
{
	keyring_free(&hs_ring);
}

/* The bytes of a file under tests/unit/keys (malloc'd, NUL-terminated). */
static char *
key_file(const char *name, size_t *len)
{
	char	 path[1024], *p;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", KEYS_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* How to mint one case's token. */
struct mint {
	jwt_alg_t	 alg;
	const char	*key;		/* NULL: the right secret; "@file": a key file */
	const char	*claims;	/* JSON object of claims */
};

/* Returns "Bearer <token>" (malloc'd). */
static char *
mint_kid(const struct mint *m, const char *kid)
{
	jwt_t		*jwt;
	char		*tok, *hdr, *file = NULL;
	const char	*key = m->key ? m->key : SECRET;
	size_t		 len = strlen(key);

	if (key[0] == '@')
		key = file = key_file(key + 1, &len);
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, m->claims), 0);
	if (kid != NULL)
		ck_assert_int_eq(jwt_add_header(jwt, "kid", kid), 0);
	if (m->alg == JWT_ALG_NONE)
		ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_NONE, NULL, 0), 0);
	else
		ck_assert_int_eq(jwt_set_alg(jwt, m->alg,
		    (const unsigned char *)key, (int)len), 0);
	free(file);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	hdr = malloc(strlen(tok) + 8);
	sprintf(hdr, "Bearer %s", tok);
	free(tok);
	jwt_free(jwt);
	return hdr;
}

static char *
mint(const struct mint *m)
{
	return mint_kid(m, NULL);
}

#define EXP_OK "\"exp\":1800003600"
static const struct {
	struct mint	 m;
	enum auth_err	 want;
	const char	*user;
} cases[] = {
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" }, AUTH_OK, USER },
	{ { JWT_ALG_HS256, NULL, "{\"user_id\":\"11111111-2222-3333-4444-55555555555A\",\"sub\":\"x\","
	    "\"role\":\"authenticated\",\"organization_id\":\"o\"," EXP_OK "}" }, AUTH_OK,
	  "11111111-2222-3333-4444-55555555555a" },
	/* exp: required, an integer, honoured with JWT_LEEWAY (30 s here) */
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"}" }, AUTH_NO_EXP, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":1799999000}" }, AUTH_EXPIRED, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":1799999980}" }, AUTH_OK, USER },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":\"1800003600\"}" }, AUTH_BAD_CLAIM, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":1800003600.5}" }, AUTH_BAD_CLAIM, NULL },
	/* nbf: an integer, honoured with JWT_LEEWAY */
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"," EXP_OK ",\"nbf\":1800000600}" },
	  AUTH_NOT_YET_VALID, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"," EXP_OK ",\"nbf\":1800000020}" }, AUTH_OK, USER },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"," EXP_OK ",\"nbf\":true}" }, AUTH_BAD_CLAIM, NULL },
	/* the signature and the algorithm */
	{ { JWT_ALG_HS256, "another-secret-another-secret-another", "{\"sub\":\"" USER "\"," EXP_OK "}" },
	  AUTH_INVALID, NULL },
	{ { JWT_ALG_HS512, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" }, AUTH_WRONG_ALG, NULL },
	{ { JWT_ALG_HS384, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" }, AUTH_WRONG_ALG, NULL },
	/* the user id */
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"not-a-uuid\"," EXP_OK "}" }, AUTH_BAD_USER, NULL },
	{ { JWT_ALG_HS256, NULL, "{" EXP_OK "}" }, AUTH_BAD_USER, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"user_id\":42,\"sub\":\"" USER "\"," EXP_OK "}" }, AUTH_BAD_CLAIM, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"user_id\":\"bad\",\"sub\":\"" USER "\"," EXP_OK "}" }, AUTH_BAD_USER,
	  NULL },
};

START_TEST(test_minted)
{
	struct auth_identity	 id;
	char			*hdr = mint(&cases[_i].m);
	enum auth_err		 e = auth_verify(&cfg, hdr, NOW, &id);

	ck_assert_msg(e == cases[_i].want, "case %d: %s, want %s", _i,
	    auth_err_str(e), auth_err_str(cases[_i].want));
	if (e == AUTH_OK)
		ck_assert_str_eq(id.user_id, cases[_i].user);
	free(hdr);
}
END_TEST

/* alg "none" is refused even though libjwt would parse it: unsigned, it
 * is no canonical JWS (no key is tried); with a signature glued on, no key
 * is configured for "none". */
START_TEST(test_alg_none)
{
	struct mint		 m = { JWT_ALG_NONE, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" };
	struct auth_identity	 id;
	char			*hdr = mint(&m), *withsig;

	ck_assert_int_eq(auth_verify(&cfg, hdr, NOW, &id), AUTH_MALFORMED);
	/* also with a signature part glued on */
	withsig = malloc(strlen(hdr) + 8);
	sprintf(withsig, "%sAAAA", hdr);
	ck_assert_int_eq(auth_verify(&cfg, withsig, NOW, &id), AUTH_WRONG_ALG);
	free(withsig);
	free(hdr);
}
END_TEST

static const struct {
	const char	*hdr;
	enum auth_err	 want;
} raw_cases[] = {
	{ NULL, AUTH_MISSING },
	{ "", AUTH_MISSING },
	{ "Bearer ", AUTH_MISSING },
	{ "Basic dXNlcjpwYXNz", AUTH_NOT_BEARER },
	{ "Token abc", AUTH_NOT_BEARER },
	{ "Bearer abc", AUTH_MALFORMED },
	{ "Bearer a.b.c", AUTH_MALFORMED },
	{ "Bearer eyJhbGciOiJIUzI1NiJ9.!!!.sig", AUTH_MALFORMED },
	{ "Bearer eyJhbGciOiJIUzI1NiJ9", AUTH_MALFORMED },
	{ "Bearer ...", AUTH_MALFORMED },
	/* alg "none": its empty signature fails before any key is tried */
	{ "Bearer eyJhbGciOiJub25lIn0.e30.", AUTH_MALFORMED },
};

START_TEST(test_raw)
{
	struct auth_identity id;

	ck_assert_int_eq(auth_verify(&cfg, raw_cases[_i].hdr, NOW, &id),
	    raw_cases[_i].want);
}
END_TEST

START_TEST(test_truncated_and_giant)
{
	struct mint		 m = { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" };
	struct auth_identity	 id;
	char			*hdr = mint(&m), *big;
	size_t			 n = strlen(hdr);

	ck_assert_int_eq(auth_verify(&cfg, hdr, NOW, &id), AUTH_OK);
	/* lowercase scheme is fine (RFC 7235: case-insensitive) */
	memcpy(hdr, "bearer", 6);
	ck_assert_int_eq(auth_verify(&cfg, hdr, NOW, &id), AUTH_OK);
	hdr[n - 3] = '\0';
	ck_assert_int_eq(auth_verify(&cfg, hdr, NOW, &id), AUTH_INVALID);
	big = malloc(AUTH_MAX_TOKEN + 64);
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'A', AUTH_MAX_TOKEN + 10);
	big[AUTH_MAX_TOKEN + 17] = '\0';
	ck_assert_int_eq(auth_verify(&cfg, big, NOW, &id), AUTH_TOO_LONG);
	free(big);
	free(hdr);
}
END_TEST

/* The token cache: hits give the same identity, nothing outlives exp,
 * one slot never confuses two tokens, refusals are not remembered. */
START_TEST(test_cache)
{
	struct mint		 a = { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" };
	struct mint		 b = { JWT_ALG_HS256, NULL,
	    "{\"sub\":\"99999999-2222-3333-4444-555555555555\"," EXP_OK "}" };
	struct mint		 bad = { JWT_ALG_HS256, "another-secret-another-secret-another",
	    "{\"sub\":\"" USER "\"," EXP_OK "}" };
	struct auth_cache	*c = auth_cache_new(1);
	struct auth_identity	 id;
	char			*ha = mint(&a), *hb = mint(&b), *hbad = mint(&bad);
	bool			 hit;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(auth_cache_new(0));
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, NOW, &id, &hit), AUTH_OK);
	ck_assert_str_eq(id.user_id, USER);
	ck_assert(!hit);
	memset(&id, 0, sizeof(id));
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, NOW + 10, &id, &hit), AUTH_OK);
	ck_assert(hit);
	ck_assert_str_eq(id.user_id, USER);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hb, NOW, &id, &hit), AUTH_OK);
	ck_assert_str_eq(id.user_id, "99999999-2222-3333-4444-555555555555");
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, NOW, &id, &hit), AUTH_OK);
	ck_assert_str_eq(id.user_id, USER);
	/* past exp (the leeway is not applied to the cache) the cached entry
	 * is not used: the token is verified again, with the leeway */
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, 1800003600 + 10, &id,
	    &hit), AUTH_OK);
	ck_assert(!hit);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, 1800003600 + 31, &id, &hit),
	    AUTH_EXPIRED);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hbad, NOW, &id, &hit), AUTH_INVALID);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hbad, NOW, &id, &hit), AUTH_INVALID);
	ck_assert_int_eq(auth_verify_cached(&cfg, NULL, ha, NOW, &id, &hit), AUTH_OK);
	/* The lookup alone: what the cache holds (ha, the last verified),
	 * never a refused or evicted token, never past exp itself. */
	memset(&id, 0, sizeof(id));
	ck_assert(auth_cache_lookup(c, ha, NOW, &id));
	ck_assert_str_eq(id.user_id, USER);
	ck_assert(!auth_cache_lookup(c, hb, NOW, &id));
	ck_assert(!auth_cache_lookup(c, hbad, NOW, &id));
	ck_assert(auth_cache_lookup(c, ha, 1800003600, &id));
	ck_assert(!auth_cache_lookup(c, ha, 1800003600 + 1, &id));
	ck_assert(!auth_cache_lookup(NULL, ha, NOW, &id));
	ck_assert(!auth_cache_lookup(c, NULL, NOW, &id));
	auth_cache_free(c);
	free(ha);
	free(hb);
	free(hbad);
}
END_TEST

/*
 * Asymmetric keys, rotation by kid, JWKS, and algorithm confusion. Rings:
 * "hs" the secret; "rs" rsa-a.pub.pem (kid rsa-a); "es" ec-a.pub.pem;
 * "jwks" jwks.json (rsa-a and ec-a with kids; its "oct" key is ignored);
 * "rot" two RSA keys by kid plus the secret.
 */
static void
ring(struct keyring *kr, const char *which)
{
	char err[256];

	keyring_init(kr);
	if (strstr(which, "hs") || strcmp(which, "rot") == 0)
		ck_assert_int_eq(keyring_add_secret(kr, (const unsigned char *)SECRET,
		    sizeof(SECRET) - 1, err, sizeof(err)), 0);
	if (strstr(which, "rs"))
		ck_assert_msg(keyring_add_pem_file(kr, "rsa-a", KEYS_DIR "/rsa-a.pub.pem",
		    err, sizeof(err)) == 0, "%s", err);
	if (strstr(which, "es"))
		ck_assert_msg(keyring_add_pem_file(kr, NULL, KEYS_DIR "/ec-a.pub.pem",
		    err, sizeof(err)) == 0, "%s", err);
	if (strstr(which, "jwks"))
		ck_assert_msg(keyring_add_jwks_file(kr, KEYS_DIR "/jwks.json", err,
		    sizeof(err)) == 0, "%s", err);
	if (strcmp(which, "rot") == 0) {
		ck_assert_int_eq(keyring_add_pem_file(kr, "old", KEYS_DIR "/rsa-a.pub.pem",
		    err, sizeof(err)), 0);
		ck_assert_int_eq(keyring_add_pem_file(kr, "new", KEYS_DIR "/rsa-b.pub.pem",
		    err, sizeof(err)), 0);
	}
}

#define CLAIMS "{\"sub\":\"" USER "\"," EXP_OK "}"
static const struct {
	const char	*ring;
	struct mint	 m;
	const char	*kid;
	enum auth_err	 want;
} akey_cases[] = {
	/* 0: RS256 and ES256 with their public keys */
	{ "rs", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, "rsa-a", AUTH_OK },
	{ "rs", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, NULL, AUTH_OK },
	{ "es", { JWT_ALG_ES256, "@ec-a.pem", CLAIMS }, NULL, AUTH_OK },
	{ "rs", { JWT_ALG_RS256, "@rsa-b.pem", CLAIMS }, "rsa-a", AUTH_INVALID },
	/* 4: a JWKS as Supabase publishes it */
	{ "jwks", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, "rsa-a", AUTH_OK },
	{ "jwks", { JWT_ALG_ES256, "@ec-a.pem", CLAIMS }, "ec-a", AUTH_OK },
	{ "jwks", { JWT_ALG_ES256, "@ec-a.pem", CLAIMS }, "rsa-a", AUTH_WRONG_ALG },
	{ "jwks", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, "unknown", AUTH_WRONG_ALG },
	{ "jwks+hs", { JWT_ALG_HS256, NULL, CLAIMS }, NULL, AUTH_OK },
	/* 9: rotation: two RSA keys chosen by kid, and the legacy secret */
	{ "rot", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, "old", AUTH_OK },
	{ "rot", { JWT_ALG_RS256, "@rsa-b.pem", CLAIMS }, "new", AUTH_OK },
	{ "rot", { JWT_ALG_RS256, "@rsa-b.pem", CLAIMS }, "old", AUTH_INVALID },
	{ "rot", { JWT_ALG_HS256, NULL, CLAIMS }, "whatever", AUTH_OK },
	/* 13: algorithm confusion */
	{ "rs", { JWT_ALG_HS256, "@rsa-a.pub.pem", CLAIMS }, "rsa-a", AUTH_WRONG_ALG },
	{ "rs", { JWT_ALG_HS256, "@rsa-a.pub.pem", CLAIMS }, NULL, AUTH_WRONG_ALG },
	{ "hs+rs", { JWT_ALG_HS256, "@rsa-a.pub.pem", CLAIMS }, NULL, AUTH_INVALID },
	{ "hs+rs", { JWT_ALG_HS256, "@rsa-a.pub.pem", CLAIMS }, "rsa-a", AUTH_INVALID },
	{ "hs", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, NULL, AUTH_WRONG_ALG },
	{ "es", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS }, NULL, AUTH_WRONG_ALG },
	{ "rs", { JWT_ALG_ES256, "@ec-a.pem", CLAIMS }, "rsa-a", AUTH_WRONG_ALG },
	{ "jwks", { JWT_ALG_HS256, "@jwks.json", CLAIMS }, "rsa-a", AUTH_WRONG_ALG },
	{ "es", { JWT_ALG_HS256, "@ec-a.pub.pem", CLAIMS }, NULL, AUTH_WRONG_ALG },
	{ "jwks+hs", { JWT_ALG_RS384, "@rsa-a.pem", CLAIMS }, "rsa-a", AUTH_WRONG_ALG },
};

START_TEST(test_asymmetric)
{
	struct keyring		 kr;
	struct auth_cfg		 c = { &kr, 30, NULL, NULL };
	struct auth_identity	 id;
	char			*hdr;
	enum auth_err		 e;

	ring(&kr, akey_cases[_i].ring);
	hdr = mint_kid(&akey_cases[_i].m, akey_cases[_i].kid);
	e = auth_verify(&c, hdr, NOW, &id);
	ck_assert_msg(e == akey_cases[_i].want, "case %d: %s, want %s", _i,
	    auth_err_str(e), auth_err_str(akey_cases[_i].want));
	if (e == AUTH_OK)
		ck_assert_str_eq(id.user_id, USER);
	free(hdr);
	keyring_free(&kr);
}
END_TEST

/*
 * One signed token, one accepted spelling: junk after the signature,
 * padding, characters outside base64url, a fourth part, or unused bits
 * set in any part's last character are refused, for every algorithm, and
 * also when the canonical token is already in the cache.
 */
static const struct {
	const char	*ring;
	struct mint	 m;
} spell_keys[] = {
	{ "hs", { JWT_ALG_HS256, NULL, CLAIMS } },
	{ "rs", { JWT_ALG_RS256, "@rsa-a.pem", CLAIMS } },
	{ "es", { JWT_ALG_ES256, "@ec-a.pem", CLAIMS } },
};

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The last character of part `part` (0..2) of the token in hdr, or NULL
 * when that part's length leaves no unused bits. */
static char *
part_last(char *hdr, int part)
{
	char	*p = hdr + 7, *end;
	int	 i;

	for (i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	end = strchr(p, '.');
	if (end == NULL)
		end = p + strlen(p);
	return (end - p) % 4 == 0 ? NULL : end - 1;
}

/* Four slots are one set of four: four tokens stay; a fifth replaces the
 * least recently used, whichever slot each token's hash names. */
START_TEST(test_cache_lru)
{
	struct auth_cache	*c = auth_cache_new(4);
	struct auth_identity	 id;
	char			*h[5], claims[5][128];
	struct mint		 m[5];
	bool			 hit;
	int			 i;

	for (i = 0; i < 5; i++) {
		snprintf(claims[i], sizeof(claims[i]), "{\"sub\":\"99999999-"
		    "2222-3333-4444-55555555555%d\"," EXP_OK "}", i);
		m[i] = (struct mint){ JWT_ALG_HS256, NULL, claims[i] };
		h[i] = mint(&m[i]);
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(auth_verify_cached(&cfg, c, h[i], NOW, &id,
		    &hit), AUTH_OK);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(auth_verify_cached(&cfg, c, h[i], NOW, &id,
		    &hit), AUTH_OK);
		ck_assert_msg(hit, "token %d was not kept", i);
	}
	/* 0 used last of all now: 1 is the least recently used */
	ck_assert(auth_cache_lookup(c, h[0], NOW, &id));
	ck_assert_int_eq(auth_verify_cached(&cfg, c, h[4], NOW, &id, &hit),
	    AUTH_OK);
	ck_assert(!hit);
	ck_assert(!auth_cache_lookup(c, h[1], NOW, &id));
	ck_assert(auth_cache_lookup(c, h[0], NOW, &id));
	ck_assert(auth_cache_lookup(c, h[2], NOW, &id));
	ck_assert(auth_cache_lookup(c, h[3], NOW, &id));
	ck_assert(auth_cache_lookup(c, h[4], NOW, &id));
	ck_assert_str_eq(id.user_id, "99999999-2222-3333-4444-555555555554");
	auth_cache_free(c);
	for (i = 0; i < 5; i++)
		free(h[i]);
}
END_TEST

START_TEST(test_one_spelling)
{
	static const char *const tails[] = {
		"=", "==", "!!", ".", ".AAAA", " ", "\t", "%3D", "+", "/",
	};
	struct keyring		 kr;
	struct auth_cfg		 c = { &kr, 30, NULL, NULL };
	struct auth_cache	*cache = auth_cache_new(64);
	struct auth_identity	 id;
	char			*hdr, *bad, *last;
	size_t			 i, n;
	bool			 hit;
	int			 part;

	ring(&kr, spell_keys[_i].ring);
	hdr = mint_kid(&spell_keys[_i].m, NULL);
	n = strlen(hdr);
	bad = malloc(n + 16);
	ck_assert_int_eq(auth_verify_cached(&c, cache, hdr, NOW, &id, &hit), AUTH_OK);
	ck_assert_int_eq(auth_verify_cached(&c, cache, hdr, NOW, &id, &hit), AUTH_OK);
	ck_assert(hit);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(bad, n + 16, "%s%s", hdr, tails[i]);
		ck_assert_msg(auth_verify(&c, bad, NOW, &id) == AUTH_MALFORMED,
		    "alg %d, tail \"%s\" accepted", _i, tails[i]);
		ck_assert_int_eq(auth_verify_cached(&c, cache, bad, NOW, &id, &hit),
		    AUTH_MALFORMED);
	}
	/* padding inside: after the header and after the payload */
	for (part = 0; part < 2; part++) {
		char *dot = hdr + 7;

		for (int k = 0; k <= part; k++)
			dot = strchr(dot, '.') + (k < part);
		snprintf(bad, n + 16, "%.*s=%s", (int)(dot - hdr), hdr, dot);
		ck_assert_int_eq(auth_verify(&c, bad, NOW, &id), AUTH_MALFORMED);
	}
	/* the unused bits of each part's last character */
	for (part = 0; part < 3; part++) {
		memcpy(bad, hdr, n + 1);
		if ((last = part_last(bad, part)) == NULL)
			continue;
		*last = B64URL[(strchr(B64URL, *last) - B64URL) ^ 1];
		ck_assert_msg(auth_verify(&c, bad, NOW, &id) == AUTH_MALFORMED,
		    "alg %d, part %d with an unused bit set accepted", _i, part);
		ck_assert_int_eq(auth_verify_cached(&c, cache, bad, NOW, &id, &hit),
		    AUTH_MALFORMED);
	}
	/* the scheme and spaces may vary: the same token, the same entry */
	snprintf(bad, n + 16, "bearer   %s", hdr + 7);
	ck_assert_int_eq(auth_verify_cached(&c, cache, bad, NOW, &id, &hit), AUTH_OK);
	ck_assert(hit);
	free(bad);
	free(hdr);
	auth_cache_free(cache);
	keyring_free(&kr);
}
END_TEST

/* aud and iss, when configured (Supabase: aud "authenticated"). */
static const struct {
	const char	*aud, *iss;	/* configured */
	const char	*claims;
	enum auth_err	 want;
} claim_cases[] = {
	{ "authenticated", NULL, "{\"sub\":\"" USER "\",\"aud\":\"authenticated\"," EXP_OK "}", AUTH_OK },
	{ "authenticated", NULL, "{\"sub\":\"" USER "\",\"aud\":[\"x\",\"authenticated\"]," EXP_OK "}",
	  AUTH_OK },
	{ "authenticated", NULL, "{\"sub\":\"" USER "\",\"aud\":\"anon\"," EXP_OK "}", AUTH_AUDIENCE },
	{ "authenticated", NULL, "{\"sub\":\"" USER "\"," EXP_OK "}", AUTH_AUDIENCE },
	{ "authenticated", NULL, "{\"sub\":\"" USER "\",\"aud\":[]," EXP_OK "}", AUTH_AUDIENCE },
	{ NULL, "https://x.supabase.co/auth/v1",
	  "{\"sub\":\"" USER "\",\"iss\":\"https://x.supabase.co/auth/v1\"," EXP_OK "}", AUTH_OK },
	{ NULL, "https://x.supabase.co/auth/v1",
	  "{\"sub\":\"" USER "\",\"iss\":\"https://evil.example/auth/v1\"," EXP_OK "}", AUTH_ISSUER },
	{ NULL, "https://x.supabase.co/auth/v1", "{\"sub\":\"" USER "\"," EXP_OK "}", AUTH_ISSUER },
	{ NULL, NULL, "{\"sub\":\"" USER "\",\"aud\":\"anything\",\"iss\":\"any\"," EXP_OK "}", AUTH_OK },
};

START_TEST(test_aud_iss)
{
	struct auth_cfg		 c = { &hs_ring, 30, claim_cases[_i].aud, claim_cases[_i].iss };
	struct mint		 m = { JWT_ALG_HS256, NULL, claim_cases[_i].claims };
	struct auth_identity	 id;
	char			*hdr = mint(&m);

	ck_assert_int_eq(auth_verify(&c, hdr, NOW, &id), claim_cases[_i].want);
	free(hdr);
}
END_TEST

/* Key files that must be refused, with a reason. */
START_TEST(test_bad_key_files)
{
	struct keyring	 kr;
	char		 err[256];

	keyring_init(&kr);
	ck_assert_int_ne(keyring_add_pem_file(&kr, NULL, KEYS_DIR "/missing.pem", err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "missing.pem"));
	ck_assert_int_ne(keyring_add_pem_file(&kr, NULL, KEYS_DIR "/jwks.json", err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "not a PEM public key"));
	ck_assert_int_ne(keyring_add_jwks_file(&kr, KEYS_DIR "/rsa-a.pub.pem", err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
	ck_assert_uint_eq(kr.n, 0);
	keyring_free(&kr);
}
END_TEST
/* SipHash-2-4 reference vectors: key 00 01 .. 0f, message 00 01 .. (n-1), n = index. */
static const char *const sip64_vectors[64] = {
	"310e0edd47db6f72",
	"fd67dc93c539f874",
	"5a4fa9d909806c0d",
	"2d7efbd796666785",
	"b7877127e09427cf",
	"8da699cd64557618",
	"cee3fe586e46c9cb",
	"37d1018bf50002ab",
	"6224939a79f5f593",
	"b0e4a90bdf82009e",
	"f3b9dd94c5bb5d7a",
	"a7ad6b22462fb3f4",
	"fbe50e86bc8f1e75",
	"903d84c02756ea14",
	"eef27a8e90ca23f7",
	"e545be4961ca29a1",
	"db9bc2577fcc2a3f",
	"9447be2cf5e99a69",
	"9cd38d96f0b3c14b",
	"bd6179a71dc96dbb",
	"98eea21af25cd6be",
	"c7673b2eb0cbf2d0",
	"883ea3e395675393",
	"c8ce5ccd8c030ca8",
	"94af49f6c650adb8",
	"eab8858ade92e1bc",
	"f315bb5bb835d817",
	"adcf6b0763612e2f",
	"a5c91da7acaa4dde",
	"716595876650a2a6",
	"28ef495c53a387ad",
	"42c341d8fa92d832",
	"ce7cf2722f512771",
	"e37859f94623f3a7",
	"381205bb1ab0e012",
	"ae97a10fd434e015",
	"b4a31508beff4d31",
	"81396229f0907902",
	"4d0cf49ee5d4dcca",
	"5c73336a76d8bf9a",
	"d0a704536ba93e0e",
	"925958fcd6420cad",
	"a915c29bc8067318",
	"952b79f3bc0aa6d4",
	"f21df2e41d4535f9",
	"87577519048f53a9",
	"10a56cf5dfcd9adb",
	"eb75095ccd986cd0",
	"51a9cb9ecba312e6",
	"96afadfc2ce666c7",
	"72fe52975a4364ee",
	"5a1645b276d592a1",
	"b274cb8ebf87870a",
	"6f9bb4203de7b381",
	"eaecb2a30b22a87f",
	"9924a43cc1315724",
	"bd838d3aafbf8db7",
	"0b1a2a3265d51aea",
	"135079a3231ce660",
	"932b2846e4d70666",
	"e1915f5cb1eca46c",
	"f325965ca16d629f",
	"575ff28e60381be5",
	"724506eb4c328a95",
};
static const char *const sip128_vectors[64] = {
	"a3817f04ba25a8e66df67214c7550293",
	"da87c1d86b99af44347659119b22fc45",
	"8177228da4a45dc7fca38bdef60affe4",
	"9c70b60c5267a94e5f33b6b02985ed51",
	"f88164c12d9c8faf7d0f6e7c7bcd5579",
	"1368875980776f8854527a07690e9627",
	"14eeca338b208613485ea0308fd7a15e",
	"a1f1ebbed8dbc153c0b84aa61ff08239",
	"3b62a9ba6258f5610f83e264f31497b4",
	"264499060ad9baabc47f8b02bb6d71ed",
	"00110dc378146956c95447d3f3d0fbba",
	"0151c568386b6677a2b4dc6f81e5dc18",
	"d626b266905ef35882634df68532c125",
	"9869e247e9c08b10d029934fc4b952f7",
	"31fcefac66d7de9c7ec7485fe4494902",
	"5493e99933b0a8117e08ec0f97cfc3d9",
	"6ee2a4ca67b054bbfd3315bf85230577",
	"473d06e8738db89854c066c47ae47740",
	"a426e5e423bf4885294da481feaef723",
	"78017731cf65fab074d5208952512eb1",
	"9e25fc833f2290733e9344a5e83839eb",
	"568e495abe525a218a2214cd3e071d12",
	"4a29b54552d16b9a469c10528eff0aae",
	"c9d184ddd5a9f5e0cf8ce29a9abf691c",
	"2db479ae78bd50d8882a8a178a6132ad",
	"8ece5f042d5e447b5051b9eacb8d8f6f",
	"9c0b53b4b3c307e87eaee08678141f66",
	"abf248af69a6eae4bfd3eb2f129eeb94",
	"0664da1668574b88b935f3027358aef4",
	"aa4b9dc4bf337de90cd4fd3c467c6ab7",
	"ea5c7f471faf6bde2b1ad7d4686d2287",
	"2939b0183223fafc1723de4f52c43d35",
	"7c3956ca5eeafc3e363e9d556546eb68",
	"77c6077146f01c32b6b69d5f4ea9ffcf",
	"37a6986cb8847edf0925f0f1309b54de",
	"a705f0e69da9a8f907241a2e923c8cc8",
	"3dc47d1f29c448461e9e76ed904f6711",
	"0d62bf01e6fc0e1a0d3c4751c5d3692b",
	"8c03468bca7c669ee4fd5e084bbee7b5",
	"528a5bb93baf2c9c4473cce5d0d22bd9",
	"df6a301e95c95dad97ae0cc8c6913bd8",
	"801189902c857f39e73591285e70b6db",
	"e617346ac9c231bb3650ae34ccca0c5b",
	"27d93437efb721aa401821dcec5adf89",
	"89237d9ded9c5e78d8b1c9b166cc7342",
	"4a6d8091bf5e7d651189fa94a250b14c",
	"0e33f96055e7ae893ffc0e3dcf492902",
	"e61c432b720b19d18ec8d84bdc63151b",
	"f7e5aef549f782cf379055a608269b16",
	"438d030fd0b7a54fa837f2ad201a6403",
	"a590d3ee4fbf04e3247e0d27f286423f",
	"5fe2c1a172fe93c4b15cd37caef9f538",
	"2c97325cbd06b36eb2133dd08b3a017c",
	"92c814227a6bca949ff0659f002ad39e",
	"dce850110bd8328cfbd50841d6911d87",
	"67f14984c7da791248e32bb5922583da",
	"1938f2cf72d54ee97e94166fa91d2a36",
	"74481e9646ed49fe0f6224301604698e",
	"57fca5de98a9d6d8006438d0583d8a1d",
	"9fecde1cefdc1cbed4763674d9575359",
	"e3040c00eb28f15366ca73cbd872e740",
	"7697009a6a831dfecca91c5993670f7a",
	"5853542321f567a005d547a4f04759bd",
	"5150d1772f50834a503e069a973fbd7c",
};

static void
unhex(const char *h, unsigned char *out, size_t n)
{
	size_t i;

	ck_assert_uint_eq(strlen(h), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned int v;

		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/* The token cache's hash against the reference vectors, both output
 * sizes, every message length 0..63 (every tail length, 0 to 7 blocks). */
START_TEST(test_siphash)
{
	unsigned char	 key[SIPHASH_KEY_LEN], msg[64], want[16], got[16];
	size_t		 i, n = (size_t)_i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < n; i++)
		msg[i] = (unsigned char)i;
	unhex(sip64_vectors[n], want, 8);
	siphash24_64(key, msg, n, got);
	ck_assert_mem_eq(got, want, 8);
	unhex(sip128_vectors[n], want, 16);
	siphash24_128(key, msg, n, got);
	ck_assert_mem_eq(got, want, 16);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_asymmetric, 0, N(akey_cases));
	tcase_add_loop_test(tc, test_aud_iss, 0, N(claim_cases));
	tcase_add_test(tc, test_bad_key_files);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_cache_lru);
	tcase_add_loop_test(tc, test_siphash, 0, 64);
	tcase_add_loop_test(tc, test_minted, 0, N(cases));
	tcase_add_test(tc, test_alg_none);
	tcase_add_loop_test(tc, test_raw, 0, N(raw_cases));
	tcase_add_test(tc, test_truncated_and_giant);
	tcase_add_loop_test(tc, test_one_spelling, 0, N(spell_keys));
}
