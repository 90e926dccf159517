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

/* A Vary line with other headers after it grows in place; they follow. */
START_TEST(test_vary_middle)
{
	struct http_resp r;

	http_resp_init(&r);
	ck_assert(http_resp_header(&r, "A", "1"));
	ck_assert(http_resp_header(&r, "Vary", "trpc-accept, accept"));
	ck_assert(http_resp_header(&r, "B", "2"));
	ck_assert(http_resp_vary(&r, "Accept-Language"));
	ck_assert(http_resp_vary(&r, "Origin"));
	ck_assert_str_eq(buf_cstr(&r.headers), "A: 1\r\nVary: trpc-accept, "
	    "accept, Accept-Language, Origin\r\nB: 2\r\n");
	http_resp_free(&r);
}
END_TEST

/* The CGI form: a Status line from the code and its reason phrase. */
static const struct {
	int		 status;
	const char	*line;
} statuses[] = {
	{ 200, "Status: 200 OK\r\n" },
	{ 207, "Status: 207 Multi-Status\r\n" },
	{ 429, "Status: 429 Too Many Requests\r\n" },
	{ 504, "Status: 504 Gateway Timeout\r\n" },
	{ 299, "Status: 299 Unknown\r\n" },
	{ 0, "Status: 500 Internal Server Error\r\n" },
	{ 12345, "Status: 500 Internal Server Error\r\n" },
};

START_TEST(test_serialize)
{
	struct http_resp	 r;
	struct buf		 out, want;

	http_resp_init(&r);
	buf_init(&out);
	buf_init(&want);
	r.status = statuses[_i].status;
	ck_assert(http_resp_header(&r, "A", "1"));
	buf_puts(&r.body, "{}");
	http_resp_serialize(&r, &out);
	buf_printf(&want, "%sA: 1\r\n\r\n{}", statuses[_i].line);
	ck_assert_str_eq(buf_cstr(&out), buf_cstr(&want));
	buf_free(&want);
	buf_free(&out);
	http_resp_free(&r);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_vary_middle);
	tcase_add_loop_test(tc, test_serialize, 0, N(statuses));
	tcase_add_loop_test(tc, test_header, 0, N(headers));
	tcase_add_loop_test(tc, test_vary, 0, N(varies));
}
