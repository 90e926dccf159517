/* check_http.c - response headers: CR and LF can never split one. */
#include "config.h"

#include <string.h>

#include "http.h"

#define SUITE_NAME "http"
#include "check_main.h"

/* Each case adds one header to a response that already holds "A: 1". */
static const struct {
	const char	*name, *value;
	bool		 ok;
} headers[] = {
	{ "Retry-After", "1", true },
	{ "Content-Type", "application/json", true },
	{ "X-Empty", "", true },
	/* 3: CR or LF anywhere in the name or the value */
	{ "X-Evil", "a\r\nSet-Cookie: s=1", false },
	{ "X-Evil", "a\nSet-Cookie: s=1", false },
	{ "X-Evil", "a\rb", false },
	{ "X-Evil", "\r\n", false },
	{ "X-Evil", "trailing\n", false },
	{ "X-Evil\r\nSet-Cookie", "s=1", false },
	{ "X-Ev\nil", "1", false },
	{ "\r", "1", false },
	/* 11: a name that is empty or holds the separator */
	{ "", "1", false },
	{ "X-Evil: a", "b", false },
};

START_TEST(test_header)
{
	struct http_resp	 r;
	struct buf		 want;

	http_resp_init(&r);
	ck_assert(http_resp_header(&r, "A", "1"));
	ck_assert_int_eq(http_resp_header(&r, headers[_i].name,
	    headers[_i].value), headers[_i].ok);
	buf_init(&want);
	buf_puts(&want, "A: 1\r\n");
	if (headers[_i].ok)
		buf_printf(&want, "%s: %s\r\n", headers[_i].name,
		    headers[_i].value);
	/* refused: nothing at all was added */
	ck_assert_str_eq(buf_cstr(&r.headers), buf_cstr(&want));
	buf_free(&want);
	http_resp_free(&r);
}
END_TEST

/* Vary: one list, and the same guard (plus the list separator). */
static const struct {
	const char	*token;
	bool		 ok;
	const char	*headers;	/* after "Vary: Origin" was added */
} varies[] = {
	{ "Accept", true, "A: 1\r\nVary: Origin, Accept\r\n" },
	{ "trpc-accept", true, "A: 1\r\nVary: Origin, trpc-accept\r\n" },
	{ "Accept\r\nSet-Cookie: s=1", false, "A: 1\r\nVary: Origin\r\n" },
	{ "Accept\n", false, "A: 1\r\nVary: Origin\r\n" },
	{ "Accept, Cookie", false, "A: 1\r\nVary: Origin\r\n" },
	{ "", false, "A: 1\r\nVary: Origin\r\n" },
};

START_TEST(test_vary)
{
	struct http_resp r;

	http_resp_init(&r);
	ck_assert(http_resp_header(&r, "A", "1"));
	ck_assert(http_resp_vary(&r, "Origin"));
	ck_assert_int_eq(http_resp_vary(&r, varies[_i].token), varies[_i].ok);
	ck_assert_str_eq(buf_cstr(&r.headers), varies[_i].headers);
	http_resp_free(&r);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_header, 0, N(headers));
	tcase_add_loop_test(tc, test_vary, 0, N(varies));
}
