/*
 * fuzz_trpc.c - the request parser: trpc_handle with stub procedures, fed
 * the CGI variables and the body.
 *
 * Input: fields separated by NUL bytes, in this order: REQUEST_METHOD,
 * SCRIPT_NAME, PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH,
 * HTTP_TRPC_ACCEPT, HTTP_ACCEPT; then the body (everything after the eighth
 * NUL, NULs allowed). A field that is exactly "\x01" is not set (NULL);
 * missing trailing fields are not set either.
 *
 * Inputs of odd length run with the superjson transformer on.
 *
 * Procedures: "generation.getStatus" reads its input with the real schema
 * (input_getstatus); "guarded" refuses before reading input (as the auth
 * middleware does); "fail" fails with a message taken from its input.
 *
 * Oracles: a status the protocol knows; the headers are "Name: value\r\n"
 * lines with no other CR, LF or NUL; the body is valid JSON, or for JSONL
 * each line is; HEAD answers 204 with no body; the body never exceeds what
 * the limits allow to be echoed; the body reader is never asked for more
 * than the limit.
 */
#include "config.h"

#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "input.h"
#include "json.h"
#include "trpc.h"
#include "uuid.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct trpc_endpoint lim_plain = { .base = "/trpc",
    .limits = { .max_batch = 4, .max_body = 4096, .max_query = 2048,
    .max_depth = FUZZ_DEPTH } };
static const struct trpc_endpoint lim_sj = { .base = "/trpc",
    .limits = { .max_batch = 4, .max_body = 4096, .max_query = 2048,
    .max_depth = FUZZ_DEPTH }, .superjson = true };

struct body {
	const uint8_t	*p;
	size_t		 left;
	size_t		 given;
	unsigned	 chunk;
};

static ssize_t
body_read(void *ctx, char *dst, size_t n)
{
	struct body *b = ctx;

	if (n > b->chunk)
		n = b->chunk;	/* short reads, as a socket gives them */
	if (n > b->left)
		n = b->left;
	memcpy(dst, b->p, n);
	b->p += n;
	b->left -= n;
	b->given += n;
	return (ssize_t)n;
}

static void
proc_status(void *ctx, const struct trpc_input *in, struct trpc_result *out)
{
	struct jref	 input;
	char		 course[UUID_STRLEN + 1];
	struct buf	 msg;

	(void)ctx;
	if (!trpc_input_read(in, &input, out))
		return;
	buf_init(&msg);
	if (input_getstatus(input, course, &msg)) {
		out->ok = true;
		buf_printf(&out->data, "{\"courseId\":\"%s\"}", course);
	} else {
		out->ok = false;
		out->code = TRPC_BAD_REQUEST;
		buf_append(&out->msg, msg.data, msg.len);
	}
	buf_free(&msg);
}

static void
proc_guarded(void *ctx, const struct trpc_input *in, struct trpc_result *out)
{
	(void)ctx;
	(void)in;
	trpc_fail(out, TRPC_UNAUTHORIZED, "Invalid or missing access token");
}

static void
proc_fail(void *ctx, const struct trpc_input *in, struct trpc_result *out)
{
	struct jref	 input;
	const char	*s;
	size_t		 n;

	(void)ctx;
	if (!trpc_input_read(in, &input, out))
		return;
	out->ok = false;
	out->code = TRPC_FORBIDDEN;
	/* an error message with arbitrary bytes (escaping must hold) */
	if ((s = jref_string(jref_get(input, "m"), &n)) != NULL)
		buf_append(&out->msg, s, n);
	else
		buf_puts(&out->msg, "no");
}

static const struct trpc_proc procs[] = {
	{ "generation.getStatus", proc_status },
	{ "guarded", proc_guarded },
	{ "fail", proc_fail },
};

static int
known_status(int s)
{
	static const int ok[] = { 200, 204, 207, 400, 401, 403, 404, 405, 408,
	    413, 415, 429, 500, 501, 502, 503, 504 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == s)
			return 1;
	return 0;
}

static void
check_headers(const struct buf *h)
{
	size_t i;

	for (i = 0; i < h->len; i++) {
		char c = h->data[i];

		FUZZ_CHECK(c != '\0', "NUL in headers");
		if (c == '\r')
			FUZZ_CHECK(i + 1 < h->len && h->data[i + 1] == '\n',
			    "bare CR in headers");
		if (c == '\n')
			FUZZ_CHECK(i > 0 && h->data[i - 1] == '\r', "bare LF in headers");
	}
	FUZZ_CHECK(h->len == 0 || (h->len >= 2 && h->data[h->len - 1] == '\n'),
	    "unterminated header line");
}

static void
check_body(const struct http_resp *r, const char *method)
{
	const char	*p = r->body.data, *end, *nl;

	if (method != NULL && strcmp(method, "HEAD") == 0) {
		FUZZ_CHECK(r->body.len == 0, "HEAD with a body of %zu", r->body.len);
		return;
	}
	if (r->status == 204) {
		FUZZ_CHECK(r->body.len == 0, "204 with a body");
		return;
	}
	FUZZ_CHECK(r->body.len > 0, "status %d with no body", r->status);
	if (fuzz_valid_json(p, r->body.len))
		return;
	/* JSONL: every line a JSON value, the body ends with a newline */
	end = p + r->body.len;
	FUZZ_CHECK(end[-1] == '\n', "body neither JSON nor JSONL: %.*s",
	    (int)r->body.len, p);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL, "JSONL line without newline");
		FUZZ_CHECK(fuzz_valid_json(p, (size_t)(nl - p)), "JSONL line is not JSON: %.*s",
		    (int)(nl - p), p);
		p = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { NFIELDS = 8 };
	char		*copy, *field[NFIELDS];
	const char	*v[NFIELDS];
	size_t		 off = 0, i;
	struct http_req	 req;
	struct http_resp resp;
	struct body	 body;
	struct buf	 ser;
	const struct trpc_endpoint *lim;

	if (size > 64 * 1024)
		return 0;
	/* odd lengths run with the superjson transformer */
	lim = (size & 1) ? &lim_sj : &lim_plain;
	/* Copy so every field is NUL-terminated and the body stays intact. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i < NFIELDS; i++) {
		if (off <= size) {
			char *nul = memchr(copy + off, '\0', size + 1 - off);

			field[i] = copy + off;
			off = (size_t)(nul - copy) + 1;
			v[i] = strcmp(field[i], "\x01") == 0 ? NULL : field[i];
		} else
			v[i] = NULL;
	}
	memset(&req, 0, sizeof(req));
	req.method = v[0];
	req.script_name = v[1];
	req.path_info = v[2];
	req.query = v[3];
	req.content_type = v[4];
	req.content_length = v[5];
	req.trpc_accept = v[6];
	req.accept = v[7];
	req.authorization = "Bearer x";
	body.p = off <= size ? data + off : data + size;
	body.left = off <= size ? size - off : 0;
	body.given = 0;
	body.chunk = 1 + (unsigned)(size % 977);
	req.read_body = body_read;
	req.body_ctx = &body;
	http_req_set_path(&req);

	http_resp_init(&resp);
	trpc_handle(lim, procs, sizeof(procs) / sizeof(procs[0]), NULL, &req, &resp);
	FUZZ_CHECK(known_status(resp.status), "status %d", resp.status);
	FUZZ_CHECK(buf_ok(&resp.headers) && buf_ok(&resp.body), "buffer failed");
	check_headers(&resp.headers);
	check_body(&resp, req.method);
	FUZZ_CHECK(body.given <= lim->limits.max_body, "read %zu body bytes past the limit %zu",
	    body.given, lim->limits.max_body);
	if (resp.status == 200 || resp.status == 207) {
		FUZZ_CHECK(v[3] == NULL || strlen(v[3]) <= lim->limits.max_query,
		    "served a query string of %zu bytes", strlen(v[3]));
	}
	buf_init(&ser);
	http_resp_serialize(&resp, &ser);
	FUZZ_CHECK(buf_ok(&ser) && ser.len >= resp.body.len, "serialize");
	buf_free(&ser);
	http_resp_free(&resp);
	free(copy);
	return 0;
}
