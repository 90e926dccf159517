/* check_text.c - the pure text helpers: uuid.c, query.c, isotime.c, b64url.c,
 * acceptlang.c, intparse.c. */
#include "config.h"

#include <string.h>

#include "acceptlang.h"
#include "b64url.h"
#include "intparse.h"
#include "isotime.h"
#include "query.h"
#include "uuid.h"

#define SUITE_NAME "text"
#include "check_main.h"

static const struct {
	const char	*in;
	const char	*canon;		/* NULL: rejected */
} uuid_cases[] = {
	{ "123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000" },
	{ "123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000" },
	{ "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000" },
	{ "123e4567e89b12d3a456426614174000", NULL },
	{ "123e4567-e89b-12d3-a456-42661417400", NULL },
	{ "123e4567-e89b-12d3-a456-4266141740000", NULL },
	{ "123e4567-e89b-12d3-a456_426614174000", NULL },
	{ "g23e4567-e89b-12d3-a456-426614174000", NULL },
	{ "generating-course-id", NULL },
	{ "", NULL },
	{ "{23e4567-e89b-12d3-a456-426614174000", NULL },
};

START_TEST(test_uuid)
{
	char out[UUID_STRLEN + 1];
	bool ok = uuid_canon(uuid_cases[_i].in, strlen(uuid_cases[_i].in), out);

	if (uuid_cases[_i].canon == NULL)
		ck_assert_msg(!ok, "accepted %s", uuid_cases[_i].in);
	else {
		ck_assert_msg(ok, "rejected %s", uuid_cases[_i].in);
		ck_assert_str_eq(out, uuid_cases[_i].canon);
	}
}
END_TEST

START_TEST(test_uuid_embedded_nul)
{
	char s[UUID_STRLEN] = "123e4567-e89b-12d3-a456-42661417400";

	s[35] = '\0';
	ck_assert(!uuid_canon(s, UUID_STRLEN, NULL));
}
END_TEST

static const struct {
	const char	*in;
	bool		 ok;
	const char	*out;
	size_t		 outlen;
} dec_cases[] = {
	{ "abc", true, "abc", 3 },
	{ "a%20b", true, "a b", 3 },
	{ "a+b", true, "a b", 3 },
	{ "%7B%22a%22%3A1%7D", true, "{\"a\":1}", 7 },
	{ "%7b%22", true, "{\"", 2 },
	{ "%00", true, "\0", 1 },
	{ "%", false, NULL, 0 },
	{ "%2", false, NULL, 0 },
	{ "%zz", false, NULL, 0 },
	{ "abc%", false, NULL, 0 },
	{ "", true, "", 0 },
	{ "%E2%9C%93", true, "\xe2\x9c\x93", 3 },
};

START_TEST(test_url_decode)
{
	struct buf b;
	bool ok;

	buf_init(&b);
	ok = url_decode(dec_cases[_i].in, strlen(dec_cases[_i].in), true, &b);
	ck_assert_int_eq(ok, dec_cases[_i].ok);
	if (ok) {
		ck_assert_uint_eq(b.len, dec_cases[_i].outlen);
		ck_assert(memcmp(buf_cstr(&b), dec_cases[_i].out, b.len) == 0);
	}
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*qs;
	enum qs_err	 rc;
	int		 has_batch;
	const char	*batch;
	int		 has_input;
	const char	*input;
} qs_cases[] = {
	{ "", QS_OK, 0, NULL, 0, NULL },
	{ "input=%7B%7D", QS_OK, 0, NULL, 1, "{}" },
	{ "batch=1&input=%7B%220%22%3A%7B%7D%7D", QS_OK, 1, "1", 1, "{\"0\":{}}" },
	{ "input=&batch=1", QS_OK, 1, "1", 1, "" },
	{ "input", QS_OK, 0, NULL, 1, "" },
	{ "x=1&input=1&y", QS_OK, 0, NULL, 1, "1" },
	{ "input=1&input=2", QS_DUPLICATE, 0, NULL, 1, "1" },
	{ "batch=1&batch=0", QS_DUPLICATE, 1, "1", 0, NULL },
	{ "input=%zz", QS_BAD_ESCAPE, 0, NULL, 0, NULL },
	{ "x=%&input=1", QS_BAD_ESCAPE, 0, NULL, 0, NULL },
	{ "in%70ut=2", QS_OK, 0, NULL, 1, "2" },
	{ "&&input=3&", QS_OK, 0, NULL, 1, "3" },
};

START_TEST(test_qs_parse)
{
	struct qs_params p;
	const char *which = "";
	enum qs_err rc;

	qs_params_init(&p);
	rc = qs_parse(qs_cases[_i].qs, strlen(qs_cases[_i].qs), &p, &which);
	ck_assert_int_eq(rc, qs_cases[_i].rc);
	if (rc == QS_OK) {
		ck_assert_int_eq(p.has_batch, qs_cases[_i].has_batch);
		ck_assert_int_eq(p.has_input, qs_cases[_i].has_input);
		if (p.has_batch)
			ck_assert_str_eq(buf_cstr(&p.batch), qs_cases[_i].batch);
		if (p.has_input)
			ck_assert_str_eq(buf_cstr(&p.input), qs_cases[_i].input);
	} else if (rc == QS_DUPLICATE)
		ck_assert_str_eq(which, qs_cases[_i].has_batch ? "batch" : "input");
	qs_params_free(&p);
}
END_TEST

static const struct {
	int64_t		 ms;
	const char	*iso;		/* NULL: out of range */
} time_cases[] = {
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ INT64_C(1762344000000), "2025-11-05T12:00:00.000Z" },
	{ INT64_C(1762344075000), "2025-11-05T12:01:15.000Z" },
	{ INT64_C(1762344150123), "2025-11-05T12:02:30.123Z" },
	{ -1, "1969-12-31T23:59:59.999Z" },
	{ INT64_C(951782400000), "2000-02-29T00:00:00.000Z" },
	{ INT64_C(4107542399999), "2100-02-28T23:59:59.999Z" },
	{ INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z" },
	{ INT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
	{ INT64_C(253402300800000), NULL },
	{ INT64_C(-62167219200001), NULL },
};

START_TEST(test_isotime)
{
	char out[ISOTIME_LEN + 1];
	bool ok = isotime_format(time_cases[_i].ms, out);

	if (time_cases[_i].iso == NULL)
		ck_assert(!ok);
	else {
		ck_assert(ok);
		ck_assert_str_eq(out, time_cases[_i].iso);
	}
}
END_TEST

static const struct {
	const char	*in;
	int		 base;
	long long	 min, max;
	bool		 ok;
	long long	 v;
} int_cases[] = {
	{ "0", 10, 0, 10, true, 0 },
	{ "10", 10, 0, 10, true, 10 },
	{ "11", 10, 0, 10, false, 0 },
	{ "-1", 10, 0, 10, false, 0 },
	{ "-1", 10, -5, 10, true, -1 },
	{ "", 10, 0, 10, false, 0 },
	{ " 1", 10, 0, 10, false, 0 },
	{ "1 ", 10, 0, 10, false, 0 },
	{ "1x", 10, 0, 10, false, 0 },
	{ "99999999999999999999", 10, 0, 10, false, 0 },
	{ "+1", 10, 0, 10, false, 0 },
	/* octal modes (LISTEN_MODE) */
	{ "0660", 8, 0, 0777, true, 0660 },
	{ "660", 8, 0, 0777, true, 0660 },
	{ "777", 8, 0, 0777, true, 0777 },
	{ "1000", 8, 0, 0777, false, 0 },
	{ "0668", 8, 0, 0777, false, 0 },
	{ "8", 8, 0, 0777, false, 0 },
	{ "-1", 8, -5, 0777, false, 0 },
	{ "+660", 8, 0, 0777, false, 0 },
	{ " 660", 8, 0, 0777, false, 0 },
	{ "", 8, 0, 0777, false, 0 },
	{ "0x1f", 8, 0, 0777, false, 0 },
};

START_TEST(test_parse_int)
{
	long long v = -42;
	bool ok = int_cases[_i].base == 10 ?
	    parse_int_range(int_cases[_i].in, int_cases[_i].min,
	    int_cases[_i].max, &v) :
	    parse_int_base(int_cases[_i].in, int_cases[_i].base,
	    int_cases[_i].min, int_cases[_i].max, &v);

	ck_assert_int_eq(ok, int_cases[_i].ok);
	if (ok)
		ck_assert_int_eq(v, int_cases[_i].v);
}
END_TEST

static const struct {
	const char	*h;
	bool		 en;
} lang_cases[] = {
	{ NULL, false },
	{ "", false },
	{ "ru", false },
	{ "en", true },
	{ "en-US", true },
	{ "EN-gb", true },
	{ "en-US,en;q=0.9,ru;q=0.8", true },
	{ "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", false },
	{ "de, en;q=0.5", true },
	{ "de", false },
	{ "*", false },
	{ "en;q=0", false },
	{ "ru;q=0.5, en;q=0.6", true },
	{ "ru;q=0.6, en;q=0.5", false },
	{ "en;q=0.5, ru;q=0.5", false },
	{ "eng", false },
	{ "en ; q=0.8 , ru ; q=0.9", false },
	{ "en;q=1.0,ru;q=0.999", true },
	{ "en;q=garbage", false },
};

START_TEST(test_accept_language)
{
	ck_assert_msg(accept_lang_prefers_en(lang_cases[_i].h) == lang_cases[_i].en,
	    "case %d: %s", _i, lang_cases[_i].h ? lang_cases[_i].h : "(null)");
}
END_TEST

/* base64url as a JWS part must be spelt: one spelling per byte string. */
static const struct {
	const char	*s;
	bool		 canonical;
} b64_cases[] = {
	{ "", true },
	{ "QQ", true },			/* "A" */
	{ "QUI", true },		/* "AB" */
	{ "QUJD", true },		/* "ABC" */
	{ "QUJDRA", true },		/* "ABCD" */
	{ "-_8", true },		/* "\xfb\xff" */
	{ "_w", true },			/* "\xff" */
	{ "QR", false },		/* "A" with an unused bit set */
	{ "QX", false },
	{ "QUJ", false },		/* "AB" with an unused bit set */
	{ "-_9", false },
	{ "_x", false },
	{ "QQ==", false },		/* padding */
	{ "QUI=", false },
	{ "QUJD=", false },
	{ "Q", false },			/* impossible length */
	{ "QUJDR", false },
	{ "QUJD!!", false },		/* outside the alphabet */
	{ "+/8", false },		/* the standard alphabet's 62 and 63 */
	{ "QU I", false },
	{ "QQ.", false },
	{ "QQ\n", false },
};

START_TEST(test_b64url_canonical)
{
	const char *s = b64_cases[_i].s;

	ck_assert_msg(b64url_canonical(s, strlen(s)) == b64_cases[_i].canonical,
	    "case %d: \"%s\"", _i, s);
}
END_TEST

/* Decoding (JWKS key material, a token's parts): RFC 4648 section 5. */
static const struct {
	const char	*s;
	bool		 ok;
	const char	*bytes;		/* what is appended after "pre" */
	size_t		 len;
} dec64_cases[] = {
	{ "", true, "", 0 },
	{ "QQ", true, "A", 1 },
	{ "QUI", true, "AB", 2 },
	{ "QUJD", true, "ABC", 3 },
	{ "QUJDRA", true, "ABCD", 4 },
	{ "-_8", true, "\xfb\xff", 2 },
	{ "AAA", true, "\0\0", 2 },
	/* 7: '=' padding is optional */
	{ "QQ==", true, "A", 1 },
	{ "QUI=", true, "AB", 2 },
	/* 9: unused bits are not checked here (b64url_canonical does) */
	{ "QR", true, "A", 1 },
	/* 10: refused: impossible length, outside the alphabet */
	{ "Q", false, NULL, 0 },
	{ "QUJDR", false, NULL, 0 },
	{ "Q===", false, NULL, 0 },
	{ "+/8", false, NULL, 0 },
	{ "QU I", false, NULL, 0 },
	{ "QQ=A", false, NULL, 0 },
	{ "QQ.", false, NULL, 0 },
};

START_TEST(test_b64url_decode)
{
	struct buf	 b;
	const char	*s = dec64_cases[_i].s;
	bool		 ok;

	buf_init(&b);
	buf_puts(&b, "pre");
	ok = b64url_decode(s, strlen(s), &b);
	ck_assert_msg(ok == dec64_cases[_i].ok, "case %d: \"%s\"", _i, s);
	if (ok) {
		ck_assert_uint_eq(b.len, 3 + dec64_cases[_i].len);
		ck_assert(memcmp(b.data, "pre", 3) == 0);
		ck_assert(memcmp(b.data + 3, dec64_cases[_i].bytes,
		    dec64_cases[_i].len) == 0);
	}
	buf_free(&b);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_b64url_canonical, 0, N(b64_cases));
	tcase_add_loop_test(tc, test_b64url_decode, 0, N(dec64_cases));
	tcase_add_loop_test(tc, test_accept_language, 0, N(lang_cases));
	tcase_add_loop_test(tc, test_uuid, 0, N(uuid_cases));
	tcase_add_test(tc, test_uuid_embedded_nul);
	tcase_add_loop_test(tc, test_url_decode, 0, N(dec_cases));
	tcase_add_loop_test(tc, test_qs_parse, 0, N(qs_cases));
	tcase_add_loop_test(tc, test_isotime, 0, N(time_cases));
	tcase_add_loop_test(tc, test_parse_int, 0, N(int_cases));
}
