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

static const struct auth_cfg cfg = {
	(const unsigned char *)SECRET, sizeof(SECRET) - 1, 30
};

/* How to mint one case's token. */
struct mint {
	jwt_alg_t	 alg;
	const char	*key;		/* NULL: the right secret */
	const char	*claims;	/* JSON object of claims */
};

/* Returns "Bearer <token>" (malloc'd). */
static char *
mint(const struct mint *m)
{
	jwt_t		*jwt;
	char		*tok, *hdr;
	const char	*key = m->key ? m->key : SECRET;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, m->claims), 0);
	if (m->alg == JWT_ALG_NONE)
		ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_NONE, NULL, 0), 0);
	else
		ck_assert_int_eq(jwt_set_alg(jwt, m->alg,
		    (const unsigned char *)key, (int)strlen(key)), 0);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	hdr = malloc(strlen(tok) + 8);
	sprintf(hdr, "Bearer %s", tok);
	free(tok);
	jwt_free(jwt);
	return hdr;
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
	{ "Bearer abc", AUTH_INVALID },
	{ "Bearer a.b.c", AUTH_INVALID },
	{ "Bearer eyJhbGciOiJIUzI1NiJ9.!!!.sig", AUTH_INVALID },
	{ "Bearer eyJhbGciOiJIUzI1NiJ9", AUTH_INVALID },
	{ "Bearer ...", AUTH_INVALID },
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

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(auth_cache_new(0));
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, NOW, &id), AUTH_OK);
	ck_assert_str_eq(id.user_id, USER);
	memset(&id, 0, sizeof(id));
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, NOW + 10, &id), AUTH_OK);
	ck_assert_str_eq(id.user_id, USER);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hb, NOW, &id), AUTH_OK);
	ck_assert_str_eq(id.user_id, "99999999-2222-3333-4444-555555555555");
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, NOW, &id), AUTH_OK);
	ck_assert_str_eq(id.user_id, USER);
	/* past exp + leeway the cached entry is not used */
	ck_assert_int_eq(auth_verify_cached(&cfg, c, ha, 1800003600 + 31, &id),
	    AUTH_EXPIRED);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hbad, NOW, &id), AUTH_INVALID);
	ck_assert_int_eq(auth_verify_cached(&cfg, c, hbad, NOW, &id), AUTH_INVALID);
	ck_assert_int_eq(auth_verify_cached(&cfg, NULL, ha, NOW, &id), AUTH_OK);
	auth_cache_free(c);
	free(ha);
	free(hb);
	free(hbad);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_cache);
	tcase_add_loop_test(tc, test_minted, 0, N(cases));
	tcase_add_test(tc, test_alg_none);
	tcase_add_loop_test(tc, test_raw, 0, N(raw_cases));
	tcase_add_test(tc, test_truncated_and_giant);
}
