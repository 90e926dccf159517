/* check_json.c - strict parsing, number and string output, the writer. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "json.h"

#define SUITE_NAME "json"
#include "check_main.h"

static const struct {
	double		 v;
	const char	*out;
} num_cases[] = {
	{ 0.28, "0.28" },
	{ 0.1 + 0.2, "0.30000000000000004" },
	{ 0.87, "0.87" },
	{ 150000, "150000" },
	{ 1.0, "1" },
	{ -0.0, "0" },
	{ 1e21, "1e+21" },
	{ 123456789012345680.0, "1.2345678901234568e+17" },
	{ 0.000001, "1e-06" },
	{ 2.5, "2.5" },
	{ -3.75, "-3.75" },
};

START_TEST(test_number_format)
{
	char out[40];

	json_format_number(num_cases[_i].v, out, sizeof(out));
	ck_assert_str_eq(out, num_cases[_i].out);
}
END_TEST

START_TEST(test_number_nonfinite)
{
	char out[40];

	json_format_number(1.0 / 0.0, out, sizeof(out));
	ck_assert_str_eq(out, "null");
	json_format_number(0.0 / 0.0, out, sizeof(out));
	ck_assert_str_eq(out, "null");
}
END_TEST

static const struct {
	const char	*in;
	size_t		 len;
	const char	*out;
} str_cases[] = {
	{ "plain", 5, "\"plain\"" },
	{ "q\"b\\", 4, "\"q\\\"b\\\\\"" },
	{ "a\nb\tc\r", 6, "\"a\\nb\\tc\\r\"" },
	{ "\x01\x1f", 2, "\"\\u0001\\u001f\"" },
	{ "nul\0x", 5, "\"nul\\u0000x\"" },
	{ "Генерация", 18, "\"Генерация\"" },
	{ "bad\xff", 4, "\"bad\xef\xbf\xbd\"" },
	{ "\xc3", 1, "\"\xef\xbf\xbd\"" },			/* truncated */
	{ "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* surrogate */
	{ "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },
	{ "</script>", 9, "\"</script>\"" },
};

START_TEST(test_string_escape)
{
	struct buf b;

	buf_init(&b);
	json_append_string(&b, str_cases[_i].in, str_cases[_i].len);
	ck_assert_str_eq(buf_cstr(&b), str_cases[_i].out);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*in;
	int		 ok;
	enum jtype	 type;
} parse_cases[] = {
	{ "{\"courseId\":\"x\"}", 1, JT_OBJECT },
	{ "  {}  \n", 1, JT_OBJECT },
	{ "[1,2]", 1, JT_ARRAY },
	{ "\"s\"", 1, JT_STRING },
	{ "null", 1, JT_NULL },
	{ "0", 1, JT_NUMBER },
	{ "12.5", 1, JT_NUMBER },
	{ "true", 1, JT_BOOL },
	{ "{", 0, JT_MISSING },
	{ "{}x", 0, JT_MISSING },
	{ "{} {}", 0, JT_MISSING },
	{ "{'a':1}", 0, JT_MISSING },
	{ "{\"a\":1,}", 0, JT_MISSING },
	{ "[1,]", 0, JT_MISSING },
	{ "NaN", 0, JT_MISSING },
	{ "\"\xff\"", 0, JT_MISSING },
	{ "", 0, JT_MISSING },
	{ "undefined", 0, JT_MISSING },
	{ "01", 0, JT_MISSING },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 0, JT_MISSING },
};

START_TEST(test_parse)
{
	struct jdoc	*d = NULL;
	char		 err[128];
	int		 rc;

	rc = jdoc_parse(parse_cases[_i].in, strlen(parse_cases[_i].in), 32,
	    &d, err, sizeof(err));
	ck_assert_msg((rc == 0) == parse_cases[_i].ok, "case %d: %s -> %d (%s)",
	    _i, parse_cases[_i].in, rc, rc ? err : "");
	if (rc == 0) {
		ck_assert_int_eq(jref_type(jdoc_root(d)), parse_cases[_i].type);
		jdoc_free(d);
	} else
		ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_parse_embedded_nul)
{
	struct jdoc	*d = NULL;
	char		 err[128];
	const char	 in[] = "{\"a\":1}\0{";

	ck_assert_int_ne(jdoc_parse(in, sizeof(in) - 1, 32, &d, err,
	    sizeof(err)), 0);
}
END_TEST

START_TEST(test_access)
{
	struct jdoc	*d;
	char		 err[128];
	const char	*in = "{\"n\":8,\"f\":0.5,\"s\":\"x\\u0000y\",\"t\":true,"
	    "\"z\":null,\"o\":{\"k\":\"v\"},\"big\":1e400}";
	struct jref	 r;
	double		 v;
	size_t		 n;
	const char	*s;

	ck_assert_int_eq(jdoc_parse(in, strlen(in), 32, &d, err, sizeof(err)), 0);
	r = jdoc_root(d);
	ck_assert(jref_number(jref_get(r, "n"), &v) && v == 8);
	ck_assert(jref_number(jref_get(r, "f"), &v) && v == 0.5);
	ck_assert(!jref_number(jref_get(r, "s"), &v));
	ck_assert(!jref_number(jref_get(r, "big"), &v));

	s = jref_string(jref_get(r, "s"), &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(n, 3);
	ck_assert(jref_is_true(jref_get(r, "t")));
	ck_assert(!jref_is_true(jref_get(r, "n")));
	ck_assert_int_eq(jref_type(jref_get(r, "z")), JT_NULL);
	ck_assert_int_eq(jref_type(jref_get(r, "missing")), JT_MISSING);
	ck_assert_int_eq(jref_type(jref_get(jref_get(r, "n"), "k")), JT_MISSING);
	ck_assert_str_eq(jref_zod_type(jref_get(r, "z")), "null");
	ck_assert_str_eq(jref_zod_type(jref_get(r, "o")), "object");
	ck_assert_str_eq(jref_zod_type(jref_get(r, "nope")), "undefined");
	s = jref_string(jref_get(jref_get(r, "o"), "k"), &n);
	ck_assert_str_eq(s, "v");
	jdoc_free(d);

	/* Integers past 64 bits read as JavaScript reads them: doubles. */
	in = "{\"a\":100000000000000000000,\"b\":-100000000000000000000,"
	    "\"c\":18446744073709551617000,\"d\":9223372036854775807,"
	    "\"e\":[123456789012345678901234567890],\"f\":1" "0000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000000000"
	    "00000000000000000000000000000000000000000000000000000000000000000000000}";
	ck_assert_int_eq(jdoc_parse(in, strlen(in), 32, &d, err, sizeof(err)), 0);
	r = jdoc_root(d);
	ck_assert(jref_number(jref_get(r, "a"), &v) && v == 1e20);
	ck_assert(jref_number(jref_get(r, "b"), &v) && v == -1e20);
	ck_assert(jref_number(jref_get(r, "c"), &v) && v == 18446744073709551617000.0);
	ck_assert(jref_number(jref_get(r, "d"), &v) && v == 9223372036854775807.0);
	ck_assert_int_eq(jref_type(jref_get(r, "e")), JT_ARRAY);
	ck_assert(!jref_number(jref_get(r, "f"), &v));	/* Infinity: absent */
	jdoc_free(d);
}
END_TEST

/* The pretty form must be byte for byte JSON.stringify(v, null, 2). */
START_TEST(test_writer_pretty)
{
	struct buf	 b;
	struct jw	 w;

	buf_init(&b);
	jw_init(&w, &b, JW_PRETTY);
	jw_arr_open(&w);
	jw_obj_open(&w);
	jw_key(&w, "code");
	jw_str(&w, "x");
	jw_key(&w, "path");
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_key(&w, "p2");
	jw_arr_open(&w);
	jw_str(&w, "courseId");
	jw_int(&w, 3);
	jw_arr_close(&w);
	jw_key(&w, "e");
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_obj_close(&w);
	jw_arr_close(&w);
	ck_assert(buf_ok(&b));
	ck_assert_str_eq(buf_cstr(&b),
	    "[\n  {\n    \"code\": \"x\",\n    \"path\": [],\n    \"p2\": [\n"
	    "      \"courseId\",\n      3\n    ],\n    \"e\": {}\n  }\n]");
	buf_free(&b);
}
END_TEST

START_TEST(test_writer_compact)
{
	struct buf	 b;
	struct jw	 w;

	buf_init(&b);
	jw_init(&w, &b, JW_COMPACT);
	jw_obj_open(&w);
	jw_key(&w, "a");
	jw_null(&w);
	jw_key(&w, "b");
	jw_bool(&w, false);
	jw_key(&w, "c");
	jw_arr_open(&w);
	jw_num(&w, 0.28);
	jw_raw(&w, "{\"r\":1}", 7);
	jw_arr_close(&w);
	jw_obj_close(&w);
	ck_assert_str_eq(buf_cstr(&b),
	    "{\"a\":null,\"b\":false,\"c\":[0.28,{\"r\":1}]}");
	buf_free(&b);
}
END_TEST

static const struct {
	int64_t		 v;
	const char	*out;
} int_cases[] = {
	{ 0, "0" }, { 7, "7" }, { -1, "-1" }, { 10, "10" }, { 1234567890, "1234567890" },
	{ -987654321, "-987654321" }, { INT64_MAX, "9223372036854775807" },
	{ INT64_MIN, "-9223372036854775808" },
};

START_TEST(test_writer_int)
{
	struct buf	 b;
	struct jw	 w;

	buf_init(&b);
	jw_init(&w, &b, JW_COMPACT);
	jw_int(&w, int_cases[_i].v);
	ck_assert(buf_ok(&b));
	ck_assert_str_eq(buf_cstr(&b), int_cases[_i].out);
	buf_free(&b);
}
END_TEST

/* buf_printf formats in place when the buffer has room, and grows it when
 * it has not: both give the same text, whatever is already in the buffer. */
START_TEST(test_buf_printf_growth)
{
	static const size_t	 prefix[] = { 0, 1, 200, 254, 255, 256, 1000 };
	struct buf		 b, want;
	size_t			 i, width;
	char			 pad[1100], tmp[700];

	memset(pad, 'p', sizeof(pad));
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		for (width = 0; width < 600; width += 37) {
			buf_init(&b);
			buf_init(&want);
			buf_append(&b, pad, prefix[i]);
			ck_assert(buf_printf(&b, "<%0*d|%s>", (int)width, 42,
			    "tail"));
			snprintf(tmp, sizeof(tmp), "<%0*d|%s>", (int)width, 42,
			    "tail");
			buf_append(&want, pad, prefix[i]);
			buf_puts(&want, tmp);
			ck_assert_uint_eq(b.len, want.len);
			ck_assert_str_eq(buf_cstr(&b), buf_cstr(&want));
			buf_free(&b);
			buf_free(&want);
		}
}
END_TEST

/* The same parse again and again (the tokener is kept between parses),
 * with a failed parse in between, gives the same tree each time. */
START_TEST(test_parse_repeated)
{
	static const char ok[] = "{\"a\":[1,{\"b\":\"c\"}],\"d\":2.5}";
	static const char bad[] = "{\"a\":";
	struct jdoc	*d;
	char		 err[96];
	int		 i;
	double		 n;

	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(jdoc_parse(ok, sizeof(ok) - 1, 8, &d, err,
		    sizeof(err)), 0);
		ck_assert(jref_number(jref_get(jdoc_root(d), "d"), &n));
		ck_assert(n == 2.5);
		jdoc_free(d);
		ck_assert_int_ne(jdoc_parse(bad, sizeof(bad) - 1, 8, &d, err,
		    sizeof(err)), 0);
	}
}
END_TEST

/* ---- the fast path against json-c ------------------------------------- */

#define UUID	"3f2a0c1e-8b7d-4c6a-9e21-5d4f3b2a1c0e"
#define X5	"\"x\",\"x\",\"x\",\"x\",\"x\","
#define K5(a)	"\"" a "1\":null,\"" a "2\":true,\"" a "3\":\"v\"," \
		"\"" a "4\":[],\"" a "5\":{},"

/*
 * Each input is read with the fast path on and off; the two documents must
 * answer every jref question alike. fast says whether the fast path must
 * take it (small, no escape, no number but short integers).
 */
static const struct {
	const char	*in;
	int		 depth;
	int		 fast;
} diff_cases[] = {
	/* the tRPC input in its shapes */
	{ "{\"json\":{\"courseId\":\"" UUID "\"}}", 32, 1 },
	{ "{\"0\":{\"json\":{\"courseId\":\"" UUID "\"}}}", 32, 1 },
	{ "{\"courseId\":\"" UUID "\"}", 32, 1 },
	{ "{\"json\":{\"courseId\":\"" UUID "\"},\"meta\":{\"values\":"
	    "[\"undefined\"]}}", 32, 1 },
	{ "{\"0\":{\"json\":null,\"meta\":{\"values\":[\"undefined\"]}}}", 32, 1 },
	{ "{\"0\":{\"json\":{\"courseId\":\"" UUID "\"}},\"1\":{\"json\":"
	    "{\"courseId\":\"x\"}}}", 32, 1 },
	/* empty containers, literals at the root and inside */
	{ "{}", 32, 1 },
	{ "[]", 32, 1 },
	{ " { \"a\" : [ \"b\" , null ] , \"c\" : { } } \n", 32, 1 },
	{ "[[],{},[[]],{\"a\":{}}]", 32, 1 },
	{ "null", 32, 1 },
	{ "true", 32, 1 },
	{ "false", 32, 1 },
	{ "\"\"", 32, 1 },
	{ "\"s\"", 32, 1 },
	{ "[null,true,false,\"x\",{\"n\":null,\"t\":true,\"f\":false}]", 32, 1 },
	{ "{\"\":\"empty name\",\"a\":\"\"}", 32, 1 },
	{ "[[[[[[\"deep\"]]]]]]", 32, 1 },
	/* duplicate names: the last one wins */
	{ "{\"a\":\"1\",\"a\":\"2\"}", 32, 1 },
	{ "{\"a\":\"1\",\"b\":\"x\",\"a\":{\"c\":\"d\"}}", 32, 1 },
	{ "{\"a\":{\"x\":\"1\"},\"a\":{\"y\":\"2\"}}", 32, 1 },
	{ "{\"a\":[\"1\",\"2\"],\"a\":null}", 32, 1 },
	{ "{\"o\":{\"k\":true,\"k\":false,\"k\":true,\"k\":false}}", 32, 1 },
	{ "{\"courseId\":\"a\",\"courseId\":\"" UUID "\"}", 32, 1 },
	/* text without escapes, in any script */
	{ "{\"тема\":\"Генерация курса 🚀\",\"中文\":\"ü\"}", 32, 1 },
	{ "\"</script>'single' quotes\"", 32, 1 },
	/* escapes: json-c's */
	{ "{\"a\":\"x\\\"y\"}", 32, 0 },
	{ "{\"a\\u0041\":\"b\"}", 32, 0 },
	{ "{\"a\":\"x\\u0000y\"}", 32, 0 },
	{ "[\"\\/\",\"\\n\"]", 32, 0 },
	{ "{\"json\":{\"courseId\":\"" UUID "\\t\"}}", 32, 0 },
	/* numbers: short integers on the fast path, the rest json-c's */
	{ "0", 32, 1 },
	{ "-0", 32, 1 },
	{ "{\"n\":1,\"m\":-1}", 32, 1 },
	{ "[123456789012345678,-123456789012345678,9007199254740993]", 32, 1 },
	{ "{\"exp\":1767225600,\"iat\":1767222000,\"sub\":\"u\"}", 32, 1 },
	{ "1234567890123456789", 32, 0 },
	{ "[1,-1234567890123456789]", 32, 0 },
	{ "1.5", 32, 0 },
	{ "-0.0", 32, 0 },
	{ "[0,1E0]", 32, 0 },
	{ "{\"a\":1e400}", 32, 0 },
	/* the node bound: 32 values fit, 33 do not */
	{ "[" X5 X5 X5 X5 X5 X5 "\"x\"]", 32, 1 },
	{ "[" X5 X5 X5 X5 X5 X5 "\"x\",\"x\"]", 32, 0 },
	{ "{" K5("a") K5("b") K5("c") K5("d") K5("e") K5("f") "\"z\":0}", 32, 1 },
	{ "{" K5("a") K5("b") K5("c") K5("d") K5("e") K5("f") "\"z\":0,"
	    "\"a1\":\"again\"}", 32, 0 },
	{ "[" X5 X5 X5 X5 X5 X5 "[\"x\"]]", 32, 0 },
	/* the depth limit as it was */
	{ "[[[\"x\"]]]", 3, 1 },
	/* invalid input: the same error either way */
	{ "[[[[\"x\"]]]]", 3, -1 },
	{ "{\"a\":}", 32, -1 },
	{ "[\"x\",]", 32, -1 },
	{ "\"\\x\"", 32, -1 },
	{ "{\"a\":\"b\"} x", 32, -1 },
	{ "[" X5 X5 X5 X5 X5 X5 X5 "", 32, -1 },
	{ "{\"a\":tru}", 32, -1 },
	{ "", 32, -1 },
};

/* Names to ask every object for: all quoted text in the input, and some. */
static size_t
diff_keys(const char *in, char keys[][64], size_t max)
{
	static const char *const extra[] = { "", "missing", "json", "0",
	    "courseId", "A", "aA" };
	const char	*p, *q;
	size_t		 n = 0, i;

	for (i = 0; i < N(extra) && n < max; i++)
		snprintf(keys[n++], 64, "%s", extra[i]);
	for (p = in; (p = strchr(p, '"')) != NULL && n < max; p = q + 1) {
		for (q = p + 1; *q != '\0' && *q != '"'; q++)
			if (*q == '\\' && q[1] != '\0')
				q++;
		if (*q == '\0')
			break;
		snprintf(keys[n++], 64, "%.*s", (int)(q - p - 1), p + 1);
	}
	return n;
}

static void
diff_walk(struct jref a, struct jref b, char keys[][64], size_t nkeys,
    const char *path)
{
	const char	*sa, *sb;
	size_t		 la = 0, lb = 0, i;
	double		 da = 0, db = 0;
	bool		 na, nb;
	char		 sub[256];

	ck_assert_msg(jref_type(a) == jref_type(b), "%s: type %d, json-c %d",
	    path, jref_type(a), jref_type(b));
	ck_assert_str_eq(jref_zod_type(a), jref_zod_type(b));
	ck_assert_int_eq(jref_is_true(a), jref_is_true(b));
	na = jref_number(a, &da);
	nb = jref_number(b, &db);
	ck_assert_int_eq(na, nb);
	/* bit for bit: -0 and 0 differ to JavaScript */
	ck_assert_msg(!na || memcmp(&da, &db, sizeof(da)) == 0,
	    "%s: number %.17g, json-c %.17g", path, da, db);
	sa = jref_string(a, &la);
	sb = jref_string(b, &lb);
	ck_assert_int_eq(sa == NULL, sb == NULL);
	if (sa != NULL) {
		ck_assert_uint_eq(la, lb);
		ck_assert_msg(memcmp(sa, sb, la) == 0, "%s: string", path);
		ck_assert_int_eq(sa[la], '\0');
	}
	ck_assert_uint_eq(jref_array_len(a), jref_array_len(b));
	if (jref_type(a) == JT_MISSING)
		return;
	/* one index past the end too: absent */
	for (i = 0; i <= jref_array_len(a); i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		diff_walk(jref_get_index(a, i), jref_get_index(b, i), keys,
		    nkeys, sub);
	}
	if (jref_type(a) != JT_OBJECT) {
		/* a non-object has no members, whatever is asked */
		ck_assert_int_eq(jref_type(jref_get(a, "x")), JT_MISSING);
		ck_assert_int_eq(jref_type(jref_get(b, "x")), JT_MISSING);
		return;
	}
	for (i = 0; i < nkeys; i++) {
		snprintf(sub, sizeof(sub), "%s.%s", path, keys[i]);
		diff_walk(jref_get(a, keys[i]), jref_get(b, keys[i]), keys,
		    nkeys, sub);
	}
}

START_TEST(test_fast_path_same)
{
	const char	*in = diff_cases[_i].in;
	struct jdoc	*fast = NULL, *slow = NULL;
	char		 ef[128] = "", es[128] = "", keys[64][64];
	int		 rf, rs;
	size_t		 nkeys;

	rf = jdoc_parse(in, strlen(in), diff_cases[_i].depth, &fast, ef,
	    sizeof(ef));
	jdoc_fast_path(false);
	rs = jdoc_parse(in, strlen(in), diff_cases[_i].depth, &slow, es,
	    sizeof(es));
	jdoc_fast_path(true);
	ck_assert_msg(rf == rs, "case %d: %d, json-c %d", _i, rf, rs);
	if (diff_cases[_i].fast < 0) {
		ck_assert_int_eq(rf, -1);
		ck_assert_str_eq(ef, es);
		ck_assert_ptr_null(fast);
		return;
	}
	ck_assert_msg(rf == 0, "case %d: %s", _i, ef);
	ck_assert_msg(jdoc_fast(fast) == (diff_cases[_i].fast == 1),
	    "case %d: fast path %s", _i, jdoc_fast(fast) ? "taken" : "not taken");
	ck_assert(!jdoc_fast(slow));
	nkeys = diff_keys(in, keys, 64);
	diff_walk(jdoc_root(fast), jdoc_root(slow), keys, nkeys, "$");
	jdoc_free(fast);
	jdoc_free(slow);
}
END_TEST

/* Strings and names stay with the document, not with the caller's text. */
START_TEST(test_fast_path_own_copy)
{
	char		 in[] = "{\"json\":{\"courseId\":\"" UUID "\"}}";
	struct jdoc	*d;
	char		 err[128];
	const char	*s;
	size_t		 n;

	ck_assert_int_eq(jdoc_parse(in, strlen(in), 32, &d, err, sizeof(err)),
	    0);
	ck_assert(jdoc_fast(d));
	memset(in, '?', sizeof(in) - 1);
	s = jref_string(jref_get(jref_get(jdoc_root(d), "json"), "courseId"),
	    &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(n, 36);
	ck_assert_str_eq(s, UUID);
	jdoc_free(d);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_fast_path_same, 0, N(diff_cases));
	tcase_add_test(tc, test_fast_path_own_copy);
	tcase_add_loop_test(tc, test_writer_int, 0, N(int_cases));
	tcase_add_test(tc, test_buf_printf_growth);
	tcase_add_test(tc, test_parse_repeated);
	tcase_add_loop_test(tc, test_number_format, 0, N(num_cases));
	tcase_add_test(tc, test_number_nonfinite);
	tcase_add_loop_test(tc, test_string_escape, 0, N(str_cases));
	tcase_add_loop_test(tc, test_parse, 0, N(parse_cases));
	tcase_add_test(tc, test_parse_embedded_nul);
	tcase_add_test(tc, test_access);
	tcase_add_test(tc, test_writer_pretty);
	tcase_add_test(tc, test_writer_compact);
}
