/* check_auth.c - bearer tokens: the good one and every way to be refused. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "auth.h"

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
	/* exp: required, with leeway */
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\"}" }, AUTH_NO_EXP, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":1799999000}" }, AUTH_EXPIRED, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":1799999980}" }, AUTH_OK, USER },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":\"1800003600\"}" }, AUTH_BAD_CLAIM, NULL },
	{ { JWT_ALG_HS256, NULL, "{\"sub\":\"" USER "\",\"exp\":1800003600.5}" }, AUTH_BAD_CLAIM, NULL },
	/* nbf: honoured, with leeway */
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

/* alg "none" is refused even though libjwt would parse it. */
START_TEST(test_alg_none)
{
	struct mint		 m = { JWT_ALG_NONE, NULL, "{\"sub\":\"" USER "\"," EXP_OK "}" };
	struct auth_identity	 id;
	char			*hdr = mint(&m), *withsig;

	ck_assert_int_ne(auth_verify(&cfg, hdr, NOW, &id), AUTH_OK);
	/* also with a signature part glued on */
	withsig = malloc(strlen(hdr) + 8);
	sprintf(withsig, "%sAAAA", hdr);
	ck_assert_int_ne(auth_verify(&cfg, withsig, NOW, &id), AUTH_OK);
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
	/* past exp + leeway the cached entry is not used */
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, 1800003600 + 31, &id, &hit),
	    AUTH_EXPIRED);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hbad, NOW, &id, &hit), AUTH_INVALID);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hbad, NOW, &id, &hit), AUTH_INVALID);
	ck_assert_int_eq(auth_verify_cached(&cfg, NULL, ha, NOW, &id, &hit), AUTH_OK);
	/* The lookup alone: what the cache holds (ha, the last verified),
	 * never a refused or evicted token, never past exp + leeway. */
	memset(&id, 0, sizeof(id));
	ck_assert(auth_cache_lookup(c, ha, NOW, &id));
	ck_assert_str_eq(id.user_id, USER);
	ck_assert(!auth_cache_lookup(c, hb, NOW, &id));
	ck_assert(!auth_cache_lookup(c, hbad, NOW, &id));
	ck_assert(!auth_cache_lookup(c, ha, 1800003600 + 31, &id));
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

static void
add_tests(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_asymmetric, 0, N(akey_cases));
	tcase_add_loop_test(tc, test_aud_iss, 0, N(claim_cases));
	tcase_add_test(tc, test_bad_key_files);
	tcase_add_test(tc, test_cache);
	tcase_add_loop_test(tc, test_minted, 0, N(cases));
	tcase_add_test(tc, test_alg_none);
	tcase_add_loop_test(tc, test_raw, 0, N(raw_cases));
	tcase_add_test(tc, test_truncated_and_giant);
	tcase_add_loop_test(tc, test_one_spelling, 0, N(spell_keys));
}
