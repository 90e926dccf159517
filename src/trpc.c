/*
 * trpc.c - the tRPC v11 HTTP protocol, as @trpc/server's resolveResponse
 * answers it (README, "API"). Three steps per request: parse_request,
 * run_calls, write_calls (or write_refusal for a request refused whole).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intparse.h"
#include "query.h"
#include "trpc.h"

static const struct trpc_code_info codes[TRPC__MAX] = {
	[TRPC_PARSE_ERROR]		= { "PARSE_ERROR", -32700, 400 },
	[TRPC_BAD_REQUEST]		= { "BAD_REQUEST", -32600, 400 },
	[TRPC_UNAUTHORIZED]		= { "UNAUTHORIZED", -32001, 401 },
	[TRPC_FORBIDDEN]		= { "FORBIDDEN", -32003, 403 },
	[TRPC_NOT_FOUND]		= { "NOT_FOUND", -32004, 404 },
	[TRPC_METHOD_NOT_SUPPORTED]	= { "METHOD_NOT_SUPPORTED", -32005, 405 },
	[TRPC_TIMEOUT]			= { "TIMEOUT", -32008, 408 },
	[TRPC_PAYLOAD_TOO_LARGE]	= { "PAYLOAD_TOO_LARGE", -32013, 413 },
	[TRPC_UNSUPPORTED_MEDIA_TYPE]	= { "UNSUPPORTED_MEDIA_TYPE", -32015, 415 },
	[TRPC_TOO_MANY_REQUESTS]	= { "TOO_MANY_REQUESTS", -32029, 429 },
	[TRPC_INTERNAL_SERVER_ERROR]	= { "INTERNAL_SERVER_ERROR", -32603, 500 },
	[TRPC_NOT_IMPLEMENTED]		= { "NOT_IMPLEMENTED", -32603, 501 },
	[TRPC_BAD_GATEWAY]		= { "BAD_GATEWAY", -32603, 502 },
	[TRPC_SERVICE_UNAVAILABLE]	= { "SERVICE_UNAVAILABLE", -32603, 503 },
	[TRPC_GATEWAY_TIMEOUT]		= { "GATEWAY_TIMEOUT", -32603, 504 },
};

const struct trpc_code_info *
trpc_code_info(enum trpc_code c)
{
	return &codes[c < TRPC__MAX ? c : TRPC_INTERNAL_SERVER_ERROR];
}

void
trpc_result_init(struct trpc_result *r)
{
	r->ok = false;
	r->code = TRPC_INTERNAL_SERVER_ERROR;
	buf_init(&r->msg);
	buf_init(&r->data);
}

void
trpc_result_free(struct trpc_result *r)
{
	buf_free(&r->msg);
	buf_free(&r->data);
}

void
trpc_fail(struct trpc_result *r, enum trpc_code c, const char *msg)
{
	r->ok = false;
	r->code = c;
	buf_reset(&r->msg);
	buf_puts(&r->msg, msg);
}

/* {"message":M,"code":N,"data":{"code":K,"httpStatus":S[,"path":P]}} */
static void
error_shape(struct buf *b, enum trpc_code c, const char *msg, size_t msglen,
    const char *path, size_t pathlen)
{
	const struct trpc_code_info	*ci = trpc_code_info(c);
	struct jw			 w;

	jw_init(&w, b, JW_COMPACT);
	jw_obj_open(&w);
	jw_key(&w, "message");
	jw_strn(&w, msg, msglen);
	jw_key(&w, "code");
	jw_int(&w, ci->rpc);
	jw_key(&w, "data");
	jw_obj_open(&w);
	jw_key(&w, "code");
	jw_str(&w, ci->key);
	jw_key(&w, "httpStatus");
	jw_int(&w, ci->http);
	if (path != NULL) {
		jw_key(&w, "path");
		jw_strn(&w, path, pathlen);
	}
	jw_obj_close(&w);
	jw_obj_close(&w);
}

/*
 * {"error":SHAPE}, or with superjson {"error":{"json":SHAPE}}: a superjson
 * server serialises the error shape (README, "superjson").
 */
enum wrap {
	WRAP_BARE,		/* the shape as is */
	WRAP_SUPERJSON		/* inside superjson's {"json":...} */
};

static void
write_error(struct buf *b, enum wrap w, enum trpc_code c, const char *msg,
    size_t msglen, const char *path, size_t pathlen)
{
	bool sj = w == WRAP_SUPERJSON;

	buf_puts(b, sj ? "{\"error\":{\"json\":" : "{\"error\":");
	error_shape(b, c, msg, msglen, path, pathlen);
	buf_puts(b, sj ? "}}" : "}");
}

void
trpc_write_error(struct buf *b, enum trpc_code c, const char *msg,
    size_t msglen, const char *path, size_t pathlen)
{
	write_error(b, WRAP_BARE, c, msg, msglen, path, pathlen);
}

bool
trpc_input_read(const struct trpc_input *in, struct jref *v,
    struct trpc_result *out)
{
	if (in->error != NULL) {
		trpc_fail(out, TRPC_BAD_REQUEST, in->error);
		return false;
	}
	*v = in->value;
	return true;
}

static int
result_status(const struct trpc_result *r)
{
	return r->ok ? 200 : trpc_code_info(r->code)->http;
}

int
trpc_batch_status(const struct trpc_result *r, size_t n)
{
	size_t	 i;
	int	 s;

	if (n == 0)
		return 200;
	s = result_status(&r[0]);
	for (i = 1; i < n; i++)
		if (result_status(&r[i]) != s)
			return 207;
	return s;
}

/* ---- the request ------------------------------------------------------ */

/* Calls a request holds without allocating (a front end's batch of
 * queries on one page rarely has more). */
#define TRPC_FEW_CALLS	4

/* One call of a (possibly batched) request. */
struct call {
	const char		*path;
	size_t			 pathlen;
	const struct trpc_proc	*proc;
};

/*
 * Why a request is refused as a whole, before any call runs: the code and
 * its message (static, or in treq.msg).
 */
struct refusal {
	enum trpc_code	 code;
	const char	*msg;
};

/* Everything parsed from one request; freed by treq_free(). */
struct treq {
	const struct trpc_endpoint *ep;
	const char	*method;	/* never NULL */
	bool		 method_ok;	/* GET or POST; else each call is a 405 */
	bool		 batch;
	bool		 stream;
	enum wrap	 wrap;		/* superjson transformer or not */
	struct qs_params qp;
	const char	*path;		/* procedure part of the URL path, */
	size_t		 pathlen;	/* in the request's */
	struct call	*calls;		/* few, or allocated for more */
	size_t		 ncalls;
	struct call	 few[TRPC_FEW_CALLS];
	struct buf	 raw_input;	/* the POST body */
	const char	*input;		/* JSON text of the input: the body, */
	size_t		 inputlen;	/* or the query's decoded "input" */
	bool		 has_input;
	struct jdoc	*doc;
	char		 parse_err[128];
	bool		 input_bad;	/* has_input but not JSON */
	char		 msg[160];	/* a refusal's message naming the request */
};

enum body {
	BODY_NONE,
	BODY_JSON
};

static void
write_standard_headers(const struct trpc_endpoint *ep, struct http_resp *resp,
    enum body body)
{
	if (body == BODY_JSON)
		http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Vary", ep->vary != NULL ? ep->vary :
	    "trpc-accept, accept");
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "X-Content-Type-Options", "nosniff");
}

static void
standard_headers(const struct trpc_endpoint *ep, struct http_resp *resp,
    enum body body)
{
	const struct buf *pre = body == BODY_JSON ? &ep->head_json :
	    &ep->head_none;

	if (pre->len > 0)
		http_resp_header_lines(resp, pre);
	else
		write_standard_headers(ep, resp, body);
}

bool
trpc_endpoint_prepare(struct trpc_endpoint *ep)
{
	struct http_resp	 r;
	bool			 ok;

	trpc_endpoint_free(ep);
	http_resp_init(&r);
	write_standard_headers(ep, &r, BODY_JSON);
	buf_append(&ep->head_json, r.headers.data, r.headers.len);
	http_resp_reset(&r);
	write_standard_headers(ep, &r, BODY_NONE);
	buf_append(&ep->head_none, r.headers.data, r.headers.len);
	ok = buf_ok(&r.headers) && buf_ok(&ep->head_json) &&
	    buf_ok(&ep->head_none);
	http_resp_free(&r);
	if (!ok)
		trpc_endpoint_free(ep);
	return ok;
}

void
trpc_endpoint_free(struct trpc_endpoint *ep)
{
	buf_free(&ep->head_json);
	buf_free(&ep->head_none);
}

/* Case-insensitive check that a media-type header names `type`
 * (parameters after ';' allowed), alone or in a comma-separated list. */
enum media_types {
	MT_ONE,			/* Content-Type: one type */
	MT_LIST			/* Accept: a list */
};

static bool
media_type_is(const char *h, const char *type, enum media_types how)
{
	bool list = how == MT_LIST;
	size_t tl = strlen(type);

	if (h == NULL)
		return false;
	for (;;) {
		const char	*end;
		size_t		 n;

		while (*h == ' ' || *h == '\t')
			h++;
		for (end = h; *end != '\0' && *end != ';' &&
		    (!list || *end != ','); end++)
			;
		n = (size_t)(end - h);
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(h, type, tl) == 0)
			return true;
		if (!list)
			return false;
		if ((h = strchr(end, ',')) == NULL)
			return false;
		h++;
	}
}

/*
 * Write a refusal: one object with the error's status and no path, in
 * JSONL mode too, as tRPC v11's resolveResponse answers every request it
 * refuses as a whole (httpBatchStreamLink 11.14+ hands it to each call).
 * Never one error per call: the calls of a refused request are not
 * bounded by MAX_BATCH, and a path of N names would otherwise buy an
 * unauthenticated client N errors.
 */
static void
write_refusal(struct http_resp *resp, const struct treq *t,
    const struct refusal *why)
{
	http_resp_reset(resp);
	standard_headers(t->ep, resp, BODY_JSON);
	resp->status = trpc_code_info(why->code)->http;
	write_error(&resp->body, t->wrap, why->code, why->msg, strlen(why->msg),
	    NULL, 0);
}

static void
treq_free(struct treq *t)
{
	buf_free(&t->raw_input);
	qs_params_free(&t->qp);
	if (t->calls != t->few)
		free(t->calls);
	jdoc_free(t->doc);
}

/*
 * The procedure part of the request's path (http_req_init assembled it):
 * less the base and surrounding slashes. Returns false when the request
 * is not under the base at all.
 */
static bool
extract_path(const struct trpc_endpoint *ep, const struct http_req *req,
    struct treq *t)
{
	const char	*p = req->path != NULL ? req->path : "";
	size_t		 n = req->path != NULL ? req->path_len : 0;
	size_t		 bl = strlen(ep->base);
	bool		 under;

	while (bl > 0 && ep->base[bl - 1] == '/')
		bl--;
	under = n >= bl && memcmp(p, ep->base, bl) == 0 &&
	    (n == bl || p[bl] == '/');
	if (under) {
		p += bl;
		n -= bl;
	}
	while (n > 0 && *p == '/') {
		p++;
		n--;
	}
	while (n > 0 && p[n - 1] == '/')
		n--;
	t->path = p;
	t->pathlen = n;
	return under;
}

/* Split the path into calls (on ',' for a batch) and match procedures. */
static bool
split_calls(struct treq *t, const struct trpc_proc *procs, size_t nprocs)
{
	const char	*p = t->path;
	size_t		 n = t->pathlen, i, k, start, count = 1;

	if (t->batch)
		for (i = 0; i < n; i++)
			if (p[i] == ',')
				count++;
	if (count <= TRPC_FEW_CALLS) {
		t->calls = t->few;
		memset(t->few, 0, sizeof(t->few));
	} else if ((t->calls = calloc(count, sizeof(*t->calls))) == NULL)
		return false;
	t->ncalls = count;
	start = 0;
	for (k = 0; k < count; k++) {
		for (i = start; i < n && !(t->batch && p[i] == ','); i++)
			;
		t->calls[k].path = p + start;
		t->calls[k].pathlen = i - start;
		for (size_t j = 0; j < nprocs; j++)
			if (strlen(procs[j].path) == i - start &&
			    memcmp(procs[j].path, p + start, i - start) == 0)
				t->calls[k].proc = &procs[j];
		start = i + 1;
	}
	return true;
}

/* Read the POST body into t->raw_input; false when refused. */
static bool
read_body(struct treq *t, const struct http_req *req, struct refusal *why)
{
	long long	 len = 0;
	size_t		 got = 0;
	ssize_t		 r;

	if (req->content_length != NULL && *req->content_length != '\0' &&
	    !parse_int_range(req->content_length, 0, 1LL << 40, &len)) {
		why->code = TRPC_BAD_REQUEST;
		why->msg = "Invalid Content-Length";
		return false;
	}
	if ((unsigned long long)len > t->ep->limits.max_body) {
		why->code = TRPC_PAYLOAD_TOO_LARGE;
		why->msg = "Request body exceeds the maximum size";
		return false;
	}
	if (len == 0)
		return true;
	buf_reset(&t->raw_input);
	while (got < (size_t)len) {
		char	 chunk[8192];
		size_t	 want = (size_t)len - got;

		if (want > sizeof(chunk))
			want = sizeof(chunk);
		r = req->read_body != NULL ?
		    req->read_body(req->body_ctx, chunk, want) : 0;
		if (r <= 0)
			break;
		if (!buf_append(&t->raw_input, chunk, (size_t)r)) {
			why->code = TRPC_INTERNAL_SERVER_ERROR;
			why->msg = "Internal server error";
			return false;
		}
		got += (size_t)r;
	}
	if (got < (size_t)len) {
		why->code = TRPC_BAD_REQUEST;
		why->msg = "Request body is incomplete";
		return false;
	}
	t->input = t->raw_input.data;
	t->inputlen = t->raw_input.len;
	t->has_input = got > 0;
	return true;
}

/*
 * superjson's serialised form {"json":V,"meta":...}: V, or absent when
 * meta marks the root as undefined (or there is no "json" at all, which
 * superjson.deserialize also reads as undefined).
 */
static struct jref
sj_unwrap(struct jref v)
{
	struct jref	 none = { NULL, false }, vals, first;
	const char	*s;
	size_t		 n;

	vals = jref_get(jref_get(v, "meta"), "values");
	first = jref_get_index(vals, 0);
	if (jref_type(vals) == JT_ARRAY && jref_array_len(vals) == 1 &&
	    (s = jref_string(first, &n)) != NULL && n == 9 &&
	    memcmp(s, "undefined", 9) == 0)
		return none;
	return jref_get(v, "json");
}

/* The input of call i: absent when none was sent, or why it is bad. */
static struct trpc_input
call_input(const struct treq *t, size_t i)
{
	struct trpc_input	 in = { { NULL, false }, NULL };
	struct jref		 root;
	char			 key[24];

	if (!t->has_input)
		return in;
	if (t->input_bad) {
		in.error = t->parse_err;
		return in;
	}
	root = jdoc_root(t->doc);
	if (!t->batch) {
		in.value = t->wrap == WRAP_SUPERJSON ? sj_unwrap(root) : root;
		return in;
	}
	if (jref_type(root) != JT_OBJECT) {
		in.error = "\"input\" needs to be an object when doing a batch call";
		return in;
	}
	snprintf(key, sizeof(key), "%zu", i);
	in.value = jref_get(root, key);
	if (t->wrap == WRAP_SUPERJSON && in.value.present)
		in.value = sj_unwrap(in.value);
	return in;
}

/* One call's envelope; WRAP_SUPERJSON wraps data and error as superjson
 * does. */
static void
write_result(struct buf *b, enum wrap w, const struct trpc_result *r,
    const struct call *c)
{
	bool sj = w == WRAP_SUPERJSON;

	if (r->ok) {
		buf_puts(b, sj ? "{\"result\":{\"data\":{\"json\":" :
		    "{\"result\":{\"data\":");
		buf_append(b, r->data.data, r->data.len);
		buf_puts(b, sj ? "}}}" : "}}");
	} else
		write_error(b, w, r->code, buf_cstr((struct buf *)&r->msg),
		    r->msg.len, c->path, c->pathlen);
}

/*
 * The parse step: the query string, the path and its calls, the method,
 * the body and the input JSON, as tRPC checks them and in its order.
 * False when the request is refused as a whole (why says how).
 */
static bool
parse_request(struct treq *t, const struct trpc_proc *procs, size_t nprocs,
    const struct http_req *req, struct refusal *why)
{
	const struct trpc_limits *lim = &t->ep->limits;
	const char	*qs = req->query ? req->query : "";
	const char	*which = "";
	size_t		 qslen = strlen(qs);
	bool		 post;

	why->code = TRPC_BAD_REQUEST;
	t->stream = media_type_is(req->trpc_accept, "application/jsonl", MT_ONE) ||
	    media_type_is(req->accept, "application/jsonl", MT_LIST);
	if (qslen > lim->max_query) {
		why->msg = "Query string exceeds the maximum length";
		return false;
	}
	switch (qs_parse(qs, qslen, &t->qp, &which)) {
	case QS_OK:
		break;
	case QS_DUPLICATE:
		why->msg = strcmp(which, "batch") == 0 ?
		    "Duplicate query parameter \"batch\"" :
		    "Duplicate query parameter \"input\"";
		return false;
	case QS_BAD_ESCAPE:
		why->msg = "Invalid URL-encoding in query string";
		return false;
	default:
		goto nomem;
	}
	t->batch = t->qp.has_batch && strcmp(buf_cstr(&t->qp.batch), "1") == 0;

	(void)extract_path(t->ep, req, t);
	if (!split_calls(t, procs, nprocs))
		goto nomem;
	if (t->stream && !t->batch) {
		why->msg = "Streaming requests must be batched (you can do a "
		    "batch of 1)";
		return false;
	}
	if (t->batch && t->ncalls > lim->max_batch) {
		why->msg = "Batch call exceeds maximum size";
		return false;
	}
	/* After the batch's size, which the part kept shows already. */
	if (req->path_too_long) {
		why->msg = "Path exceeds the maximum length";
		return false;
	}

	post = strcmp(t->method, "POST") == 0;
	/* Another method: every call fails the same way (run_calls). */
	t->method_ok = post || strcmp(t->method, "GET") == 0;
	if (!t->method_ok)
		return true;
	if (post) {
		why->code = TRPC_UNSUPPORTED_MEDIA_TYPE;
		if (req->content_type == NULL || *req->content_type == '\0') {
			why->msg = "Missing content-type header";
			return false;
		}
		if (!media_type_is(req->content_type, "application/json",
		    MT_ONE)) {
			/* tRPC's own message, without the closing quote. */
			snprintf(t->msg, sizeof(t->msg),
			    "Unsupported content-type \"%.128s",
			    req->content_type);
			why->msg = t->msg;
			return false;
		}
		if (!read_body(t, req, why))
			return false;
	} else if (t->qp.has_input && t->qp.input.len > 0) {
		/* URLSearchParams.get('input'): missing or empty = undefined */
		t->input = t->qp.input.data;
		t->inputlen = t->qp.input.len;
		t->has_input = true;
	}
	if (t->has_input &&
	    jdoc_parse(t->input, t->inputlen, lim->max_depth,
	    &t->doc, t->parse_err + 20, sizeof(t->parse_err) - 20) != 0) {
		memcpy(t->parse_err, "Invalid JSON input: ", 20);
		t->input_bad = true;
	}
	return true;
nomem:
	why->code = TRPC_INTERNAL_SERVER_ERROR;
	why->msg = "Internal server error";
	return false;
}

/* The run step: each call through its procedure, into res[i]. */
static void
run_calls(const struct treq *t, void *ctx, struct trpc_result *res)
{
	size_t	 i;

	for (i = 0; i < t->ncalls; i++) {
		const struct call	*c = &t->calls[i];
		struct trpc_input	 in;
		struct buf		 m;

		trpc_result_init(&res[i]);
		if (c->proc == NULL) {
			buf_init(&m);
			buf_puts(&m, "No procedure found on path \"");
			buf_append(&m, c->path, c->pathlen);
			buf_putc(&m, '"');
			trpc_fail(&res[i], TRPC_NOT_FOUND, buf_cstr(&m));
			buf_free(&m);
			continue;
		}
		if (!t->method_ok) {
			buf_init(&m);
			buf_puts(&m, "Unsupported ");
			buf_append(&m, t->method, strnlen(t->method, 32));
			buf_puts(&m, "-request to query procedure at path \"");
			buf_puts(&m, c->proc->path);
			buf_putc(&m, '"');
			trpc_fail(&res[i], TRPC_METHOD_NOT_SUPPORTED,
			    buf_cstr(&m));
			buf_free(&m);
			continue;
		}
		in = call_input(t, i);
		c->proc->fn(ctx, &in, &res[i]);
		if (!buf_ok(&res[i].data) || !buf_ok(&res[i].msg))
			trpc_fail(&res[i], TRPC_INTERNAL_SERVER_ERROR,
			    "Internal server error");
	}
}

/*
 * JSONL (httpBatchStreamLink): one line holding every call's envelope,
 * keyed by its index; superjson wraps the line once, not each value.
 */
static void
write_jsonl(struct buf *b, const struct treq *t, const struct trpc_result *res)
{
	size_t	 i;

	buf_puts(b, t->wrap == WRAP_SUPERJSON ? "{\"json\":{" : "{");
	for (i = 0; i < t->ncalls; i++) {
		buf_printf(b, "%s\"%zu\":[[", i ? "," : "", i);
		/* The line wraps the results once, not each. */
		write_result(b, WRAP_BARE, &res[i], &t->calls[i]);
		buf_puts(b, "]]");
	}
	buf_puts(b, t->wrap == WRAP_SUPERJSON ? "}}\n" : "}\n");
}

/* The write step: status, headers and the envelopes of the calls. False
 * when memory ran out. */
static bool
write_calls(struct http_resp *resp, const struct treq *t,
    const struct trpc_result *res)
{
	size_t	 i;

	/* Allow goes with a 405 only (an unknown procedure stays a 404). */
	for (i = 0; i < t->ncalls; i++)
		if (!res[i].ok && res[i].code == TRPC_METHOD_NOT_SUPPORTED) {
			http_resp_header(resp, "Allow", "GET, POST");
			break;
		}
	standard_headers(t->ep, resp, BODY_JSON);
	if (t->stream) {
		resp->status = 200;
		write_jsonl(&resp->body, t, res);
	} else if (t->batch) {
		resp->status = trpc_batch_status(res, t->ncalls);
		buf_putc(&resp->body, '[');
		for (i = 0; i < t->ncalls; i++) {
			if (i > 0)
				buf_putc(&resp->body, ',');
			write_result(&resp->body, t->wrap, &res[i], &t->calls[i]);
		}
		buf_putc(&resp->body, ']');
	} else {
		resp->status = result_status(&res[0]);
		write_result(&resp->body, t->wrap, &res[0], &t->calls[0]);
	}
	return buf_ok(&resp->body) && buf_ok(&resp->headers);
}

void
trpc_handle(const struct trpc_endpoint *ep, const struct trpc_proc *procs,
    size_t nprocs, void *ctx, const struct http_req *req,
    struct http_resp *resp)
{
	struct treq		 t;
	struct refusal		 why;
	struct trpc_result	*res = NULL, few[TRPC_FEW_CALLS];
	size_t			 i;

	memset(&t, 0, sizeof(t));
	t.ep = ep;
	t.wrap = ep->superjson ? WRAP_SUPERJSON : WRAP_BARE;
	t.method = req->method ? req->method : "GET";
	buf_init(&t.raw_input);
	qs_params_init(&t.qp);
	http_resp_reset(resp);

	if (strcmp(t.method, "HEAD") == 0) {
		/* tRPC answers HEAD with an empty 204 (lambda warm-up). */
		resp->status = 204;
		standard_headers(ep, resp, BODY_NONE);
		goto out;
	}
	if (!parse_request(&t, procs, nprocs, req, &why))
		goto refused;
	if (t.ncalls <= TRPC_FEW_CALLS)
		res = few;
	else if ((res = calloc(t.ncalls, sizeof(*res))) == NULL)
		goto nomem;
	run_calls(&t, ctx, res);
	if (!write_calls(resp, &t, res))
		goto nomem;
	if (ep->on_call != NULL)
		for (i = 0; i < t.ncalls; i++)
			ep->on_call(t.calls[i].proc, &res[i]);
	goto out;
nomem:
	why.code = TRPC_INTERNAL_SERVER_ERROR;
	why.msg = "Internal server error";
refused:
	write_refusal(resp, &t, &why);
	if (ep->on_refusal != NULL)
		ep->on_refusal(why.code);
out:
	if (res != NULL) {
		for (i = 0; i < t.ncalls; i++)
			trpc_result_free(&res[i]);
		if (res != few)
			free(res);
	}
	treq_free(&t);
}
