/* check_cors.c - CORS_ORIGINS parsing, origin matching, preflight answers. */
#include "config.h"

#include <string.h>

#include "cors.h"

#define SUITE_NAME "cors"
#include "check_main.h"

static const struct {
	const char	*list;
	int		 rc;
	const char	*origins[4];	/* as kept, in order */
} parses[] = {
	{ NULL, 0, { NULL } },
	{ "", 0, { NULL } },
	{ " , ", 0, { NULL } },
	{ "https://app.example.com", 0, { "https://app.example.com" } },
	{ "https://app.example.com/", 0, { "https://app.example.com" } },
	{ "HTTPS://App.Example.COM", 0, { "https://app.example.com" } },
	{ "https://a.example.com, http://localhost:3000", 0,
	    { "https://a.example.com", "http://localhost:3000" } },
	{ "https://a.example.com http://127.0.0.1:8080 http://[::1]:5173", 0,
	    { "https://a.example.com", "http://127.0.0.1:8080",
	    "http://[::1]:5173" } },
	/* Default ports are not part of a browser's Origin; ports are
	 * serialised in plain decimal. */
	{ "https://app.example.com:443", 0, { "https://app.example.com" } },
	{ "http://app.example.com:80/", 0, { "http://app.example.com" } },
	{ "https://app.example.com:80 http://app.example.com:443", 0,
	    { "https://app.example.com:80", "http://app.example.com:443" } },
	{ "http://localhost:03000 http://[::1]:0080", 0,
	    { "http://localhost:3000", "http://[::1]" } },
	{ "*", -1, { NULL } },
	{ "https://a.example.com,*", -1, { NULL } },
	{ "null", -1, { NULL } },
	{ "app.example.com", -1, { NULL } },
	{ "ftp://app.example.com", -1, { NULL } },
	{ "https://app.example.com/path", -1, { NULL } },
	{ "https://app.example.com:0", -1, { NULL } },
	{ "https://app.example.com:65536", -1, { NULL } },
	{ "https://app.example.com:", -1, { NULL } },
	{ "https://", -1, { NULL } },
	{ "https://user@app.example.com", -1, { NULL } },
	{ "https://app.example.com?x", -1, { NULL } },
	{ "https://*.example.com", -1, { NULL } },
};

START_TEST(test_parse)
{
	struct cors	 c;
	char		 err[256] = "";
	int		 rc, i;

	rc = cors_parse(&c, parses[_i].list, err, sizeof(err));
	ck_assert_msg(rc == parses[_i].rc, "%s: rc %d", parses[_i].list, rc);
	ck_assert_int_eq(cors_check(parses[_i].list, err, sizeof(err)), rc);
	if (rc != 0) {
		ck_assert_int_eq((int)c.n, 0);
		ck_assert_msg(strncmp(err, "CORS_ORIGINS", 12) == 0, "%s", err);
		return;
	}
	for (i = 0; parses[_i].origins[i] != NULL; i++) {
		ck_assert_int_gt((int)c.n, i);
		ck_assert_str_eq(c.origins[i], parses[_i].origins[i]);
	}
	ck_assert_int_eq((int)c.n, i);
	cors_free(&c);
}
END_TEST

static const struct {
	const char	*origin;
	bool		 allowed;
} matches[] = {
	{ "https://app.example.com", true },
	{ "http://localhost:3000", true },
	{ "http://app.example.com", false },		/* scheme */
	{ "https://app.example.com:443", false },	/* browsers omit it */
	{ "https://app.example.com.evil.test", false },
	{ "https://evil.test/https://app.example.com", false },
	{ "https://example.com", false },
	{ "https://app.example.co", false },
	{ "null", false },
	{ "", false },
	{ NULL, false },
};

START_TEST(test_match)
{
	struct cors	 c, off;
	char		 err[256];

	ck_assert_int_eq(cors_parse(&c, "https://app.example.com "
	    "http://localhost:3000", err, sizeof(err)), 0);
	ck_assert_int_eq(cors_parse(&off, NULL, err, sizeof(err)), 0);
	ck_assert(cors_allowed(&c, matches[_i].origin) == matches[_i].allowed);
	ck_assert(!cors_allowed(&off, matches[_i].origin));
	cors_free(&c);
}
END_TEST

static bool
has_header(struct http_resp *r, const char *line)
{
	return strstr(buf_cstr(&r->headers), line) != NULL;
}

static const struct {
	const char	*method, *origin, *acrm;
	bool		 handled;
	int		 status;
	bool		 acao;
} preflights[] = {
	{ "OPTIONS", "https://app.example.com", "GET", true, 204, true },
	{ "OPTIONS", "https://app.example.com", "POST", true, 204, true },
	{ "OPTIONS", "https://evil.test", "GET", true, 403, false },
	{ "OPTIONS", "null", "GET", true, 403, false },
	/* Not preflights: the protocol answers them (405, 200...). */
	{ "OPTIONS", "https://app.example.com", NULL, false, 0, false },
	{ "OPTIONS", NULL, "GET", false, 0, false },
	{ "GET", "https://app.example.com", "GET", false, 0, false },
};

START_TEST(test_preflight)
{
	struct cors		 c, off;
	struct http_req		 req;
	struct http_resp	 resp;
	char			 err[256];

	ck_assert_int_eq(cors_parse(&c, "https://app.example.com", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cors_parse(&off, NULL, err, sizeof(err)), 0);
	memset(&req, 0, sizeof(req));
	req.method = preflights[_i].method;
	req.origin = preflights[_i].origin;
	req.cors_method = preflights[_i].acrm;
	http_resp_init(&resp);
	/* CORS off: nothing is a preflight, the answer stays as before. */
	ck_assert(!cors_preflight(&off, &req, &resp));
	ck_assert(cors_preflight(&c, &req, &resp) == preflights[_i].handled);
	if (preflights[_i].handled) {
		ck_assert_int_eq(resp.status, preflights[_i].status);
		ck_assert(has_header(&resp, "Vary: Origin\r\n"));
		ck_assert(has_header(&resp, "Access-Control-") ==
		    preflights[_i].acao);
	}
	if (preflights[_i].acao) {
		ck_assert(has_header(&resp, "Access-Control-Allow-Origin: "
		    "https://app.example.com\r\n"));
		ck_assert(has_header(&resp, "Access-Control-Allow-Methods: "
		    "GET, POST\r\n"));
		ck_assert(has_header(&resp, "Access-Control-Max-Age: "));
		ck_assert(has_header(&resp, "Access-Control-Allow-Headers: "
		    "authorization, content-type, trpc-accept, trpc-batch-mode,"
		    " x-trpc-source"));
		ck_assert_int_eq((int)resp.body.len, 0);
	} else if (preflights[_i].handled) {
		ck_assert(strstr(buf_cstr(&resp.body),
		    "\"code\":\"FORBIDDEN\"") != NULL);
	}
	http_resp_free(&resp);
	cors_free(&c);
}
END_TEST

START_TEST(test_answer_headers)
{
	struct cors		 c;
	struct http_req		 req;
	struct http_resp	 resp;
	char			 err[256];

	ck_assert_int_eq(cors_parse(&c, "https://app.example.com", err,
	    sizeof(err)), 0);
	memset(&req, 0, sizeof(req));
	http_resp_init(&resp);
	req.origin = "https://app.example.com";
	cors_headers(&c, &req, &resp);
	ck_assert(has_header(&resp, "Access-Control-Allow-Origin: "
	    "https://app.example.com\r\n"));
	ck_assert(has_header(&resp, "Access-Control-Expose-Headers: "
	    "Retry-After\r\n"));
	http_resp_reset(&resp);
	req.origin = "https://evil.test";
	cors_headers(&c, &req, &resp);
	ck_assert_int_eq((int)resp.headers.len, 0);
	/* An Origin with CR/LF can never reach a header. */
	req.origin = "https://app.example.com\r\nX: y";
	cors_headers(&c, &req, &resp);
	ck_assert_int_eq((int)resp.headers.len, 0);
	http_resp_free(&resp);
	cors_free(&c);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_parse, 0, N(parses));
	tcase_add_loop_test(tc, test_match, 0, N(matches));
	tcase_add_loop_test(tc, test_preflight, 0, N(preflights));
	tcase_add_test(tc, test_answer_headers);
}
