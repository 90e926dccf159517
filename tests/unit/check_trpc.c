/* check_trpc.c - the tRPC HTTP protocol against a fake procedure. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "trpc.h"

#define SUITE_NAME "trpc"
#include "check_main.h"

/* The fake procedure: no input -> "none"; {"fail":..} -> FORBIDDEN "no";
 * anything else -> "ok". */
static void
echo_proc(void *ctx, const struct trpc_input *in, struct trpc_result *out)
{
	struct jref input;

	(void)ctx;
	if (!trpc_input_read(in, &input, out))
		return;
	if (jref_type(input) == JT_MISSING) {
		out->ok = true;
		buf_puts(&out->data, "\"none\"");
	} else if (jref_type(jref_get(input, "fail")) != JT_MISSING)
		trpc_fail(out, TRPC_FORBIDDEN, "no");
	else {
		out->ok = true;
		buf_puts(&out->data, "\"ok\"");
	}
}

/* A procedure whose middleware refuses every call before the input is
 * read: bad input must not hide that (tRPC parses input lazily). */
static void
guarded_proc(void *ctx, const struct trpc_input *in, struct trpc_result *out)
{
	(void)ctx;
	(void)in;
	trpc_fail(out, TRPC_UNAUTHORIZED, "who");
}

static const struct trpc_proc procs[] = {
	{ "generation.getStatus", echo_proc },
	{ "guarded", guarded_proc },
};

static const struct trpc_endpoint lim = { .base = "/trpc",
    .limits = { .max_batch = 3, .max_body = 64, .max_query = 200,
    .max_depth = 8 } };
static const struct trpc_endpoint lim_sj = { .base = "/trpc",
    .limits = { .max_batch = 3, .max_body = 64, .max_query = 200,
    .max_depth = 8 }, .superjson = true };

struct body {
	const char	*p;
	size_t		 left;
};

static ssize_t
body_read(void *ctx, char *dst, size_t n)
{
	struct body *b = ctx;

	if (n > b->left)
		n = b->left;
	memcpy(dst, b->p, n);
	b->p += n;
	b->left -= n;
	return (ssize_t)n;
}

#define GS "generation.getStatus"
#define OK "{\"result\":{\"data\":\"ok\"}}"
#define NONE "{\"result\":{\"data\":\"none\"}}"
#define ERR(msg, rpc, key, http) "{\"error\":{\"message\":\"" msg "\",\"code\":" #rpc \
	",\"data\":{\"code\":\"" key "\",\"httpStatus\":" #http "}}}"
#define ERRP(msg, rpc, key, http, path) "{\"error\":{\"message\":\"" msg "\",\"code\":" #rpc \
	",\"data\":{\"code\":\"" key "\",\"httpStatus\":" #http ",\"path\":\"" path "\"}}}"
#define FORBID ERRP("no", -32003, "FORBIDDEN", 403, GS)
#define NOTOBJ ERRP("\\\"input\\\" needs to be an object when doing a batch call", \
	-32600, "BAD_REQUEST", 400, GS)
#define Q(s) s	/* query strings below are written already encoded */

struct req_case {
	const char	*method;
	const char	*script, *path_info, *query;
	const char	*ctype, *clen, *body;
	const char	*trpc_accept, *accept;
	int		 status;
	const char	*want;		/* exact body, or its prefix if prefix */
	bool		 prefix;
};

static const struct req_case cases[] = {
	/* 0: single GET, with and without input */
	{ "GET", "/trpc/" GS, NULL, "input=%7B%7D", NULL, NULL, NULL, NULL, NULL, 200, OK, false },
	{ "GET", "/trpc/" GS, NULL, "", NULL, NULL, NULL, NULL, NULL, 200, NONE, false },
	{ "GET", "/trpc/" GS, NULL, "input=", NULL, NULL, NULL, NULL, NULL, 200, NONE, false },
	/* 3: Apache's SCRIPT_NAME + PATH_INFO; trailing slash */
	{ "GET", "/trpc", "/" GS, "input=%7B%7D", NULL, NULL, NULL, NULL, NULL, 200, OK, false },
	{ "GET", "/trpc/" GS "/", NULL, "input=%7B%7D", NULL, NULL, NULL, NULL, NULL, 200, OK, false },
	/* 5: unknown procedures */
	{ "GET", "/trpc/nope", NULL, "", NULL, NULL, NULL, NULL, NULL, 404,
	  ERRP("No procedure found on path \\\"nope\\\"", -32004, "NOT_FOUND", 404, "nope"), false },
	{ "GET", "/trpc/" GS "," GS, NULL, "", NULL, NULL, NULL, NULL, NULL, 404,
	  ERRP("No procedure found on path \\\"" GS "," GS "\\\"", -32004, "NOT_FOUND", 404,
	  GS "," GS), false },
	{ "GET", "/other/" GS, NULL, "", NULL, NULL, NULL, NULL, NULL, 404,
	  ERRP("No procedure found on path \\\"other/" GS "\\\"", -32004, "NOT_FOUND", 404,
	  "other/" GS), false },
	/* 8: batches: mixed -> 207, all the same -> that status */
	{ "GET", "/trpc/" GS "," GS, NULL, "batch=1&input=%7B%220%22%3A%7B%7D%2C%221%22%3A%7B%22fail%22%3A1%7D%7D",
	  NULL, NULL, NULL, NULL, NULL, 207, "[" OK "," FORBID "]", false },
	{ "GET", "/trpc/" GS "," GS, NULL, "batch=1&input=%7B%220%22%3A%7B%22fail%22%3A1%7D%2C%221%22%3A%7B%22fail%22%3A1%7D%7D",
	  NULL, NULL, NULL, NULL, NULL, 403, "[" FORBID "," FORBID "]", false },
	{ "GET", "/trpc/" GS ",nope", NULL, "batch=1&input=%7B%7D", NULL, NULL, NULL, NULL, NULL, 207,
	  "[" NONE "," ERRP("No procedure found on path \\\"nope\\\"", -32004, "NOT_FOUND", 404, "nope") "]",
	  false },
	{ "GET", "/trpc/" GS "," GS, NULL, "batch=1&input=%5B1%5D", NULL, NULL, NULL, NULL, NULL, 400,
	  "[" NOTOBJ "," NOTOBJ "]", false },
	{ "GET", "/trpc/" GS "," GS "," GS "," GS, NULL, "batch=1", NULL, NULL, NULL, NULL, NULL, 400,
	  ERR("Batch call exceeds maximum size", -32600, "BAD_REQUEST", 400), false },
	/* 13: JSONL */
	{ "GET", "/trpc/" GS "," GS, NULL, "batch=1&input=%7B%221%22%3A%7B%22fail%22%3A1%7D%7D",
	  NULL, NULL, NULL, "application/jsonl", NULL, 200,
	  "{\"0\":[[" NONE "]],\"1\":[[" FORBID "]]}\n", false },
	{ "GET", "/trpc/" GS, NULL, "batch=1&input=%7B%220%22%3A%7B%7D%7D", NULL, NULL, NULL, NULL,
	  "text/html, application/jsonl;q=0.9", 200, "{\"0\":[[" OK "]]}\n", false },
	{ "GET", "/trpc/" GS, NULL, "input=%7B%7D", NULL, NULL, NULL, "application/jsonl", NULL, 400,
	  ERR("Streaming requests must be batched (you can do a batch of 1)", -32600, "BAD_REQUEST", 400),
	  false },
	{ "GET", "/trpc/" GS "," GS "," GS "," GS, NULL, "batch=1", NULL, NULL, NULL, "application/jsonl",
	  NULL, 400, ERR("Batch call exceeds maximum size", -32600, "BAD_REQUEST", 400), false },
	/* 17: POST (methodOverride) */
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "2", "{}", NULL, NULL, 200, OK, false },
	{ "POST", "/trpc/" GS, NULL, "", "Application/JSON; charset=utf-8", "2", "{}", NULL, NULL, 200, OK,
	  false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "0", "", NULL, NULL, 200, NONE, false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", NULL, NULL, NULL, NULL, 200, NONE, false },
	{ "POST", "/trpc/" GS "," GS, NULL, "batch=1", "application/json", "8", "{\"0\":{}}", NULL, NULL,
	  200, "[" OK "," NONE "]", false },
	{ "POST", "/trpc/" GS, NULL, "", "text/plain", "2", "{}", NULL, NULL, 415,
	  ERR("Unsupported content-type \\\"text/plain", -32015, "UNSUPPORTED_MEDIA_TYPE", 415), false },
	{ "POST", "/trpc/" GS, NULL, "", "application/jsonx", "2", "{}", NULL, NULL, 415,
	  ERR("Unsupported content-type \\\"application/jsonx", -32015, "UNSUPPORTED_MEDIA_TYPE", 415),
	  false },
	{ "POST", "/trpc/" GS, NULL, "", NULL, "2", "{}", NULL, NULL, 415,
	  ERR("Missing content-type header", -32015, "UNSUPPORTED_MEDIA_TYPE", 415), false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "65", "{}", NULL, NULL, 413,
	  ERR("Request body exceeds the maximum size", -32013, "PAYLOAD_TOO_LARGE", 413), false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "abc", "{}", NULL, NULL, 400,
	  ERR("Invalid Content-Length", -32600, "BAD_REQUEST", 400), false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "-1", "{}", NULL, NULL, 400,
	  ERR("Invalid Content-Length", -32600, "BAD_REQUEST", 400), false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "10", "{}", NULL, NULL, 400,
	  ERR("Request body is incomplete", -32600, "BAD_REQUEST", 400), false },
	/* 29: other methods */
	{ "PUT", "/trpc/" GS, NULL, "", NULL, NULL, NULL, NULL, NULL, 405,
	  ERRP("Unsupported PUT-request to query procedure at path \\\"" GS "\\\"", -32005,
	  "METHOD_NOT_SUPPORTED", 405, GS), false },
	{ "OPTIONS", "/trpc/" GS, NULL, "", NULL, NULL, NULL, NULL, NULL, 405,
	  ERRP("Unsupported OPTIONS-request to query procedure at path \\\"" GS "\\\"", -32005,
	  "METHOD_NOT_SUPPORTED", 405, GS), false },
	{ "HEAD", "/trpc/" GS, NULL, "", NULL, NULL, NULL, NULL, NULL, 204, "", false },
	{ "PUT", "/trpc/nope", NULL, "", NULL, NULL, NULL, NULL, NULL, 404,
	  ERRP("No procedure found on path \\\"nope\\\"", -32004, "NOT_FOUND", 404, "nope"), false },
	/* 32: bad input */
	{ "GET", "/trpc/" GS, NULL, "input=%7B", NULL, NULL, NULL, NULL, NULL, 400,
	  "{\"error\":{\"message\":\"Invalid JSON input: ", true },
	{ "GET", "/trpc/" GS, NULL, "input=%7B%7D%7D", NULL, NULL, NULL, NULL, NULL, 400,
	  "{\"error\":{\"message\":\"Invalid JSON input: ", true },
	{ "GET", "/trpc/" GS, NULL, "input=%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B1%5D%5D%5D%5D%5D%5D%5D%5D%5D%5D",
	  NULL, NULL, NULL, NULL, NULL, 400, "{\"error\":{\"message\":\"Invalid JSON input: ", true },
	{ "GET", "/trpc/" GS, NULL, "input=%ZZ", NULL, NULL, NULL, NULL, NULL, 400,
	  ERR("Invalid URL-encoding in query string", -32600, "BAD_REQUEST", 400), false },
	{ "GET", "/trpc/" GS, NULL, "input=1&input=2", NULL, NULL, NULL, NULL, NULL, 400,
	  ERR("Duplicate query parameter \\\"input\\\"", -32600, "BAD_REQUEST", 400), false },
	{ "GET", "/trpc/" GS, NULL, "input=%22aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%22",
	  NULL, NULL, NULL, NULL, NULL, 400,
	  ERR("Query string exceeds the maximum length", -32600, "BAD_REQUEST", 400), false },
	{ "GET", "/trpc/" GS, NULL, "input=%7B%22a%22%3A%22%FF%22%7D", NULL, NULL, NULL, NULL, NULL, 400,
	  "{\"error\":{\"message\":\"Invalid JSON input: ", true },
	/* 40: batch with a missing index is undefined for that call */
	{ "GET", "/trpc/" GS "," GS, NULL, "batch=1&input=%7B%221%22%3A%7B%7D%7D", NULL, NULL, NULL, NULL,
	  NULL, 200, "[" NONE "," OK "]", false },
	{ "GET", "/trpc/" GS, NULL, "batch=0&input=%7B%7D", NULL, NULL, NULL, NULL, NULL, 200, OK, false },
	/* 42: input errors surface only when the procedure reads its input */
	{ "GET", "/trpc/guarded", NULL, "input=%7B", NULL, NULL, NULL, NULL, NULL, 401,
	  ERRP("who", -32001, "UNAUTHORIZED", 401, "guarded"), false },
	{ "GET", "/trpc/guarded,guarded", NULL, "batch=1&input=%5B1%5D", NULL, NULL, NULL, NULL, NULL, 401,
	  "[" ERRP("who", -32001, "UNAUTHORIZED", 401, "guarded") ","
	  ERRP("who", -32001, "UNAUTHORIZED", 401, "guarded") "]", false },
};

/* The request of a case, its body read from b. */
static void
case_request(const struct req_case *c, struct http_req *req, struct body *b)
{
	memset(req, 0, sizeof(*req));
	req->method = c->method;
	req->script_name = c->script;
	req->path_info = c->path_info;
	req->query = c->query;
	req->content_type = c->ctype;
	req->content_length = c->clen;
	req->trpc_accept = c->trpc_accept;
	req->accept = c->accept;
	b->p = c->body ? c->body : "";
	b->left = strlen(b->p);
	req->read_body = body_read;
	req->body_ctx = b;
	http_req_set_path(req);
}

static void
check_request(const struct trpc_endpoint *l, const struct req_case *c, int i)
{
	struct http_req		 req;
	struct http_resp	 resp;
	struct body		 body;
	const char		*got;

	case_request(c, &req, &body);

	http_resp_init(&resp);
	trpc_handle(l, procs, N(procs), NULL, &req, &resp);
	got = buf_cstr(&resp.body);
	ck_assert_msg(resp.status == c->status, "case %d: status %d, want %d (%s)",
	    i, resp.status, c->status, got);
	if (c->prefix)
		ck_assert_msg(strncmp(got, c->want, strlen(c->want)) == 0,
		    "case %d: %s", i, got);
	else
		ck_assert_msg(strcmp(got, c->want) == 0, "case %d:\n got %s\nwant %s",
		    i, got, c->want);
	/* Headers every answer carries; JSON type on all but HEAD. */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.headers), "Vary: trpc-accept, accept\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.headers), "Cache-Control: no-store\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.headers), "X-Content-Type-Options: nosniff\r\n"));
	if (resp.status != 204)
		ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.headers),
		    "Content-Type: application/json\r\n"));
	if (resp.status == 405)
		ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.headers), "Allow: GET, POST\r\n"));
	else
		ck_assert_ptr_null(strstr(buf_cstr(&resp.headers), "Allow:"));
	http_resp_free(&resp);
}

START_TEST(test_request)
{
	check_request(&lim, &cases[_i], _i);
}
END_TEST

/* With the superjson transformer: inputs unwrapped from {"json":...},
 * data and errors wrapped, a JSONL line wrapped once as a whole. */
#define SJ_OK "{\"result\":{\"data\":{\"json\":\"ok\"}}}"
#define SJ_NONE "{\"result\":{\"data\":{\"json\":\"none\"}}}"
#define SJ(e) "{\"error\":{\"json\":" e "}}"
#define SHAPE(msg, rpc, key, http) "{\"message\":\"" msg "\",\"code\":" #rpc \
	",\"data\":{\"code\":\"" key "\",\"httpStatus\":" #http "}}"
#define SHAPEP(msg, rpc, key, http, path) "{\"message\":\"" msg "\",\"code\":" #rpc \
	",\"data\":{\"code\":\"" key "\",\"httpStatus\":" #http ",\"path\":\"" path "\"}}"

static const struct req_case sj_cases[] = {
	{ "GET", "/trpc/" GS, NULL, "input=%7B%22json%22%3A%7B%7D%7D", NULL, NULL, NULL, NULL, NULL,
	  200, SJ_OK, false },
	{ "GET", "/trpc/" GS, NULL,
	  "input=%7B%22json%22%3Anull%2C%22meta%22%3A%7B%22values%22%3A%5B%22undefined%22%5D%2C%22v%22%3A1%7D%7D",
	  NULL, NULL, NULL, NULL, NULL, 200, SJ_NONE, false },
	{ "GET", "/trpc/" GS, NULL, "input=%7B%7D", NULL, NULL, NULL, NULL, NULL, 200, SJ_NONE, false },
	{ "GET", "/trpc/" GS "," GS, NULL,
	  "batch=1&input=%7B%220%22%3A%7B%22json%22%3A%7B%7D%7D%2C%221%22%3A%7B%22json%22%3A%7B%22fail%22%3A1%7D%7D%7D",
	  NULL, NULL, NULL, NULL, NULL, 207,
	  "[" SJ_OK "," SJ(SHAPEP("no", -32003, "FORBIDDEN", 403, GS)) "]", false },
	{ "GET", "/trpc/" GS "," GS, NULL, "batch=1&input=%7B%220%22%3A%7B%22json%22%3A%7B%7D%7D%7D",
	  NULL, NULL, NULL, "application/jsonl", NULL, 200,
	  "{\"json\":{\"0\":[[{\"result\":{\"data\":\"ok\"}}]],\"1\":[[{\"result\":{\"data\":\"none\"}}]]}}\n",
	  false },
	{ "POST", "/trpc/" GS, NULL, "", "text/plain", "2", "{}", NULL, NULL, 415,
	  SJ(SHAPE("Unsupported content-type \\\"text/plain", -32015, "UNSUPPORTED_MEDIA_TYPE", 415)),
	  false },
	{ "POST", "/trpc/" GS, NULL, "", "application/json", "16", "{\"json\":{\"x\":1}}", NULL, NULL,
	  200, SJ_OK, false },
	{ "GET", "/trpc/nope", NULL, "", NULL, NULL, NULL, NULL, NULL, 404,
	  SJ(SHAPEP("No procedure found on path \\\"nope\\\"", -32004, "NOT_FOUND", 404, "nope")), false },
};

START_TEST(test_superjson)
{
	check_request(&lim_sj, &sj_cases[_i], _i);
}
END_TEST

START_TEST(test_batch_status)
{
	struct trpc_result r[3];
	int i;

	for (i = 0; i < 3; i++)
		trpc_result_init(&r[i]);
	r[0].ok = r[1].ok = r[2].ok = true;
	ck_assert_int_eq(trpc_batch_status(r, 3), 200);
	trpc_fail(&r[1], TRPC_UNAUTHORIZED, "x");
	ck_assert_int_eq(trpc_batch_status(r, 3), 207);
	trpc_fail(&r[0], TRPC_UNAUTHORIZED, "x");
	trpc_fail(&r[2], TRPC_UNAUTHORIZED, "x");
	ck_assert_int_eq(trpc_batch_status(r, 3), 401);
	trpc_fail(&r[2], TRPC_NOT_FOUND, "x");
	ck_assert_int_eq(trpc_batch_status(r, 3), 207);
	for (i = 0; i < 3; i++)
		trpc_result_free(&r[i]);
}
END_TEST

static const struct {
	enum trpc_code	 c;
	const char	*key;
	int		 rpc, http;
} code_cases[] = {
	{ TRPC_PARSE_ERROR, "PARSE_ERROR", -32700, 400 },
	{ TRPC_BAD_REQUEST, "BAD_REQUEST", -32600, 400 },
	{ TRPC_UNAUTHORIZED, "UNAUTHORIZED", -32001, 401 },
	{ TRPC_FORBIDDEN, "FORBIDDEN", -32003, 403 },
	{ TRPC_NOT_FOUND, "NOT_FOUND", -32004, 404 },
	{ TRPC_METHOD_NOT_SUPPORTED, "METHOD_NOT_SUPPORTED", -32005, 405 },
	{ TRPC_TIMEOUT, "TIMEOUT", -32008, 408 },
	{ TRPC_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", -32013, 413 },
	{ TRPC_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", -32015, 415 },
	{ TRPC_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", -32029, 429 },
	{ TRPC_INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", -32603, 500 },
	{ TRPC_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", -32603, 501 },
	{ TRPC_BAD_GATEWAY, "BAD_GATEWAY", -32603, 502 },
	{ TRPC_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", -32603, 503 },
	{ TRPC_GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", -32603, 504 },
};

START_TEST(test_codes)
{
	const struct trpc_code_info *ci = trpc_code_info(code_cases[_i].c);

	ck_assert_str_eq(ci->key, code_cases[_i].key);
	ck_assert_int_eq(ci->rpc, code_cases[_i].rpc);
	ck_assert_int_eq(ci->http, code_cases[_i].http);
}
END_TEST

/* The error envelope escapes whatever text it carries. */
START_TEST(test_error_envelope)
{
	struct buf b;

	buf_init(&b);
	trpc_write_error(&b, TRPC_NOT_FOUND, "a\"b\n", 4, "p\x01", 2);
	ck_assert_str_eq(buf_cstr(&b), "{\"error\":{\"message\":\"a\\\"b\\n\",\"code\":-32004,"
	    "\"data\":{\"code\":\"NOT_FOUND\",\"httpStatus\":404,\"path\":\"p\\u0001\"}}}");
	buf_free(&b);
}
END_TEST

/* http_resp_vary: one more name in the one Vary list, or a new Vary. */
static const struct {
	const char	*before;	/* header lines before */
	const char	*token;
	bool		 ok;
	const char	*after;
} vary_cases[] = {
	{ "Vary: trpc-accept, accept\r\nCache-Control: no-store\r\n", "Accept-Language",
	  true, "Vary: trpc-accept, accept, Accept-Language\r\nCache-Control: no-store\r\n" },
	{ "Allow: GET, POST\r\nvary: a\r\n", "B", true, "Allow: GET, POST\r\nvary: a, B\r\n" },
	{ "Cache-Control: no-store\r\n", "Accept-Language", true,
	  "Cache-Control: no-store\r\nVary: Accept-Language\r\n" },
	{ "", "Origin", true, "Vary: Origin\r\n" },
	{ "Vary: a\r\n", "b\r\nX-Evil: 1", false, "Vary: a\r\n" },
	{ "Vary: a\r\n", "b, c", false, "Vary: a\r\n" },
	{ "Vary: a\r\n", "", false, "Vary: a\r\n" },
};

START_TEST(test_vary)
{
	struct http_resp r;

	http_resp_init(&r);
	buf_puts(&r.headers, vary_cases[_i].before);
	ck_assert(http_resp_vary(&r, vary_cases[_i].token) == vary_cases[_i].ok);
	ck_assert_str_eq(buf_cstr(&r.headers), vary_cases[_i].after);
	http_resp_free(&r);
}
END_TEST

/* http_req_init: every variable of the table lands in its own field; the
 * first of duplicated names wins; the path is SCRIPT_NAME + PATH_INFO. */
static const char *const env_all[] = {
	"REQUEST_METHOD=POST", "SCRIPT_NAME=/trpc", "PATH_INFO=/a.b",
	"QUERY_STRING=batch=1", "CONTENT_TYPE=application/json",
	"CONTENT_LENGTH=2", "HTTP_AUTHORIZATION=Bearer t",
	"HTTP_TRPC_ACCEPT=application/jsonl", "HTTP_ACCEPT=*/*",
	"HTTP_ACCEPT_LANGUAGE=en", "HTTP_ORIGIN=https://o",
	"HTTP_ACCESS_CONTROL_REQUEST_METHOD=GET", "REMOTE_ADDR=192.0.2.1",
	"REQUEST_ID=abc", "REQUEST_METHOD=GET", "NOEQUALS", "HTTP_ACCEPTX=no",
	"=odd", NULL,
};

START_TEST(test_req_init)
{
	struct http_req	 req;
	int		 ctx;

	/* environ and FastCGI's parameters are char **: as the edge has them. */
	http_req_init(&req, (char *const *)(uintptr_t)env_all, body_read, &ctx);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.script_name, "/trpc");
	ck_assert_str_eq(req.path_info, "/a.b");
	ck_assert_str_eq(req.query, "batch=1");
	ck_assert_str_eq(req.content_type, "application/json");
	ck_assert_str_eq(req.content_length, "2");
	ck_assert_str_eq(req.authorization, "Bearer t");
	ck_assert_str_eq(req.trpc_accept, "application/jsonl");
	ck_assert_str_eq(req.accept, "*/*");
	ck_assert_str_eq(req.accept_language, "en");
	ck_assert_str_eq(req.origin, "https://o");
	ck_assert_str_eq(req.cors_method, "GET");
	ck_assert_str_eq(req.remote_addr, "192.0.2.1");
	ck_assert_str_eq(req.request_id, "abc");
	ck_assert_str_eq(req.path, "/trpc/a.b");
	ck_assert_uint_eq(req.path_len, 9);
	ck_assert(!req.path_too_long);
	ck_assert(req.read_body == body_read && req.body_ctx == &ctx);
}
END_TEST

static const struct path_case {
	const char	*script, *info, *path;
	bool		 too_long;
} path_cases[] = {
	{ NULL, NULL, "", false },
	{ "/trpc/generation.getStatus", NULL, "/trpc/generation.getStatus", false },
	{ NULL, "/x", "/x", false },
	{ "/trpc", "/generation.getStatus", "/trpc/generation.getStatus", false },
};

START_TEST(test_req_path)
{
	const struct path_case	*c = &path_cases[_i];
	struct http_req		 req;

	memset(&req, 0, sizeof(req));
	req.script_name = c->script;
	req.path_info = c->info;
	http_req_set_path(&req);
	ck_assert_str_eq(req.path, c->path);
	ck_assert_uint_eq(req.path_len, strlen(c->path));
	ck_assert(req.path_too_long == c->too_long);
}
END_TEST

/* A path over HTTP_PATH_MAX is cut there, flagged, and refused whole. */
START_TEST(test_req_path_too_long)
{
	static char	 script[HTTP_PATH_MAX + 2], info[8];
	struct http_req	 req;
	struct http_resp resp;

	memset(script, '/', sizeof(script) - 1);
	memcpy(script, "/trpc/guarded", 13);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.script_name = script;
	http_req_set_path(&req);
	ck_assert(req.path_too_long);
	ck_assert_uint_eq(req.path_len, HTTP_PATH_MAX);
	ck_assert_uint_eq(strlen(req.path), HTTP_PATH_MAX);
	http_resp_init(&resp);
	trpc_handle(&lim, procs, N(procs), NULL, &req, &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(buf_cstr(&resp.body), ERR("Path exceeds the maximum "
	    "length", -32600, "BAD_REQUEST", 400));
	http_resp_free(&resp);

	/* A batch too big says so, whatever its length. */
	memcpy(script, "/trpc/guarded,guarded,guarded,guarded/", 38);
	req.query = "batch=1";
	http_req_set_path(&req);
	ck_assert(req.path_too_long);
	http_resp_init(&resp);
	trpc_handle(&lim, procs, N(procs), NULL, &req, &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(buf_cstr(&resp.body), ERR("Batch call exceeds maximum "
	    "size", -32600, "BAD_REQUEST", 400));
	http_resp_free(&resp);
	req.query = NULL;
	memcpy(script, "/trpc/guarded//////////////////////////", 38);

	/* Exactly HTTP_PATH_MAX: kept whole, served (trailing '/' dropped). */
	script[HTTP_PATH_MAX] = '\0';
	strcpy(info, "");
	req.path_info = info;
	http_req_set_path(&req);
	ck_assert(!req.path_too_long);
	http_resp_init(&resp);
	trpc_handle(&lim, procs, N(procs), NULL, &req, &resp);
	ck_assert_int_eq(resp.status, 401);
	http_resp_free(&resp);
}
END_TEST

/* What the endpoint was told: calls by outcome, refusals by code. */
static int	 told_ok, told_err, told_unknown, told_refused;
static enum trpc_code told_code;

static void
tell_call(const struct trpc_proc *proc, const struct trpc_result *r)
{
	if (proc == NULL)
		told_unknown++;
	else if (r->ok)
		told_ok++;
	else
		told_err++;
}

static void
tell_refusal(enum trpc_code c)
{
	told_refused++;
	told_code = c;
}

/* A result as big as a buffer may be: its envelope cannot be written. */
static void
big_proc(void *ctx, const struct trpc_input *in, struct trpc_result *out)
{
	(void)ctx;
	(void)in;
	buf_putc(&out->data, '"');
	while (out->data.len + 17 < BUF_MAX && buf_ok(&out->data))
		buf_puts(&out->data, "xxxxxxxxxxxxxxxx");
	buf_putc(&out->data, '"');
	out->ok = buf_ok(&out->data);
}

static const struct trpc_proc count_procs[] = {
	{ "generation.getStatus", echo_proc },
	{ "big", big_proc },
};

static const struct count_case {
	const char	*method, *script, *query;
	int		 status, ok, err, unknown, refused;
	enum trpc_code	 code;
} count_cases[] = {
	/* each call once */
	{ "GET", "/trpc/generation.getStatus,nope,generation.getStatus",
	  "batch=1&input=%7B%222%22%3A%7B%22fail%22%3A1%7D%7D", 207, 1, 1, 1, 0, 0 },
	/* a refused request once, as a refusal */
	{ "GET", "/trpc/generation.getStatus,nope", "batch=1&batch=1", 400,
	  0, 0, 0, 1, TRPC_BAD_REQUEST },
	{ "GET", "/trpc/a,b,c,d", "batch=1", 400, 0, 0, 0, 1, TRPC_BAD_REQUEST },
	/* HEAD is no call at all */
	{ "HEAD", "/trpc/generation.getStatus", "", 204, 0, 0, 0, 0, 0 },
	/* the call ran but its answer cannot be written: only the refusal */
	{ "GET", "/trpc/big", "", 500, 0, 0, 0, 1, TRPC_INTERNAL_SERVER_ERROR },
};

START_TEST(test_counted_once)
{
	const struct count_case	*c = &count_cases[_i];
	struct trpc_endpoint	 ep = lim;
	struct http_req		 req;
	struct http_resp	 resp;

	ep.on_call = tell_call;
	ep.on_refusal = tell_refusal;
	told_ok = told_err = told_unknown = told_refused = 0;
	told_code = 0;
	memset(&req, 0, sizeof(req));
	req.method = c->method;
	req.script_name = c->script;
	req.query = c->query;
	http_req_set_path(&req);
	http_resp_init(&resp);
	trpc_handle(&ep, count_procs, N(count_procs), NULL, &req, &resp);
	ck_assert_int_eq(resp.status, c->status);
	ck_assert_int_eq(told_ok, c->ok);
	ck_assert_int_eq(told_err, c->err);
	ck_assert_int_eq(told_unknown, c->unknown);
	ck_assert_int_eq(told_refused, c->refused);
	ck_assert_int_eq(told_code, c->code);
	http_resp_free(&resp);
}
END_TEST

/* One request's answer, whole: status line, headers and body. */
static void
answer(const struct trpc_endpoint *l, const struct req_case *c,
    struct buf *out)
{
	struct http_req		 req;
	struct http_resp	 resp;
	struct body		 body;

	case_request(c, &req, &body);
	http_resp_init(&resp);
	trpc_handle(l, procs, N(procs), NULL, &req, &resp);
	http_resp_serialize(&resp, out);
	http_resp_free(&resp);
}

/* An endpoint whose fixed headers were written once answers exactly as
 * one that writes them per request (the service prepares its own). */
START_TEST(test_prepared)
{
	struct trpc_endpoint	 ep = lim;
	struct buf		 want, got;

	ep.vary = _i % 2 ? "trpc-accept, accept, Origin" : NULL;
	buf_init(&want);
	buf_init(&got);
	answer(&ep, &cases[_i / 2], &want);
	ck_assert(trpc_endpoint_prepare(&ep));
	ck_assert_uint_gt(ep.head_json.len, 0);
	answer(&ep, &cases[_i / 2], &got);
	ck_assert_str_eq(buf_cstr(&got), buf_cstr(&want));
	trpc_endpoint_free(&ep);
	buf_free(&want);
	buf_free(&got);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_prepared, 0, 2 * N(cases));
	tcase_add_loop_test(tc, test_counted_once, 0, N(count_cases));
	tcase_add_test(tc, test_req_init);
	tcase_add_loop_test(tc, test_req_path, 0, N(path_cases));
	tcase_add_test(tc, test_req_path_too_long);
	tcase_add_loop_test(tc, test_vary, 0, N(vary_cases));
	tcase_add_loop_test(tc, test_request, 0, N(cases));
	tcase_add_loop_test(tc, test_superjson, 0, N(sj_cases));
	tcase_add_test(tc, test_batch_status);
	tcase_add_loop_test(tc, test_codes, 0, N(code_cases));
	tcase_add_test(tc, test_error_envelope);
}
