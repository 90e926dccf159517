/*
 * http.c - the request, built once from the web server's variables, and
 * the response: headers that cannot be split, status lines.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* The CGI/FastCGI variables the service reads, and where each goes. */
#define VAR(name, field) \
	{ name, sizeof(name) - 1, offsetof(struct http_req, field) }
static const struct http_var {
	const char	*name;
	size_t		 len;
	size_t		 off;		/* of a const char * in http_req */
} vars[] = {
	VAR("REQUEST_METHOD", method),
	VAR("SCRIPT_NAME", script_name),
	VAR("PATH_INFO", path_info),
	VAR("QUERY_STRING", query),
	VAR("CONTENT_TYPE", content_type),
	VAR("CONTENT_LENGTH", content_length),
	VAR("HTTP_AUTHORIZATION", authorization),
	VAR("HTTP_TRPC_ACCEPT", trpc_accept),
	VAR("HTTP_ACCEPT", accept),
	VAR("HTTP_ACCEPT_LANGUAGE", accept_language),
	VAR("HTTP_ORIGIN", origin),
	VAR("HTTP_ACCESS_CONTROL_REQUEST_METHOD", cors_method),
	VAR("REMOTE_ADDR", remote_addr),
	VAR("REQUEST_ID", request_id),
};
#undef VAR

/* Every row's bit fits the index http_req_init builds. */
_Static_assert(sizeof(vars) / sizeof(vars[0]) <= 32, "too many variables");

static void
path_add(struct http_req *req, const char *s)
{
	size_t	 n, room = HTTP_PATH_MAX - req->path_len;

	if (s == NULL)
		return;
	if ((n = strlen(s)) > room) {
		n = room;
		req->path_too_long = true;
	}
	memcpy(req->path_buf + req->path_len, s, n);
	req->path_len += n;
}

void
http_req_set_path(struct http_req *req)
{
	req->path_len = 0;
	req->path_too_long = false;
	path_add(req, req->script_name);
	path_add(req, req->path_info);
	req->path_buf[req->path_len] = '\0';
	req->path = req->path_buf;
}

/* The longest name in vars; names longer than this are skipped unread. */
#define VARS_MAXLEN	34

/* Which rows of vars have each length: a web server passes some thirty
 * variables, and most of them need no comparison at all. Built once,
 * before main. */
static uint32_t by_len[VARS_MAXLEN + 1];

static void __attribute__((constructor))
vars_index(void)
{
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i].len <= VARS_MAXLEN)	/* (check_http: all are) */
			by_len[vars[i].len] |= UINT32_C(1) << i;
}

void
http_req_init(struct http_req *req, char *const *env,
    ssize_t (*read_body)(void *, char *, size_t), void *body_ctx)
{
	const char	*eq, **field;
	uint32_t	 m;
	size_t		 i, n;

	/* Not the path buffer: http_req_set_path writes what it uses. */
	memset(req, 0, offsetof(struct http_req, path_buf));
	for (; env != NULL && *env != NULL; env++) {
		if ((eq = strchr(*env, '=')) == NULL ||
		    (n = (size_t)(eq - *env)) > VARS_MAXLEN)
			continue;
		for (m = by_len[n]; m != 0; m &= m - 1) {
			i = (size_t)__builtin_ctz(m);
			if (memcmp(vars[i].name, *env, n) != 0)
				continue;
			field = (const char **)(void *)
			    ((char *)req + vars[i].off);
			if (*field == NULL)
				*field = eq + 1;
			break;
		}
	}
	req->read_body = read_body;
	req->body_ctx = body_ctx;
	http_req_set_path(req);
}

void
http_resp_init(struct http_resp *r)
{
	r->status = 200;
	buf_init(&r->headers);
	buf_init(&r->body);
}

void
http_resp_reset(struct http_resp *r)
{
	r->status = 200;
	buf_reset(&r->headers);
	buf_reset(&r->body);
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

/* The length of s if it has no CR or LF (nor a colon, for a name); else
 * (size_t)-1. */
static size_t
header_part(const char *s, bool name)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || (name && *p == ':'))
			return (size_t)-1;
	return (size_t)(p - s);
}

bool
http_resp_header(struct http_resp *r, const char *name, const char *value)
{
	size_t	 nl, vl;
	char	*p;

	if ((nl = header_part(name, true)) == (size_t)-1 || nl == 0 ||
	    (vl = header_part(value, false)) == (size_t)-1)
		return false;
	/* One reservation for "name: value\r\n". */
	if ((p = buf_space(&r->headers, nl + vl + 4)) == NULL)
		return false;
	memcpy(p, name, nl);
	memcpy(p + nl, ": ", 2);
	memcpy(p + nl + 2, value, vl);
	memcpy(p + nl + 2 + vl, "\r\n", 2);
	buf_commit(&r->headers, nl + vl + 4);
	return true;
}

void
http_resp_header_lines(struct http_resp *r, const struct buf *lines)
{
	buf_append(&r->headers, lines->data, lines->len);
}

bool
http_resp_vary(struct http_resp *r, const char *token)
{
	struct buf	*h = &r->headers;
	const char	*line, *eol;
	char		*at;
	size_t		 tl, off, tail;

	if ((tl = header_part(token, false)) == (size_t)-1 || tl == 0 ||
	    strchr(token, ',') != NULL)
		return false;
	for (line = buf_cstr(h); *line != '\0'; line = eol + 2) {
		if ((eol = strstr(line, "\r\n")) == NULL)
			break;
		if (strncasecmp(line, "Vary:", 5) != 0)
			continue;
		/* ", token" goes in before the line's CRLF, in place. */
		off = (size_t)(eol - h->data);
		tail = h->len - off;
		if (buf_space(h, tl + 2) == NULL)
			return false;
		at = h->data + off;
		memmove(at + tl + 2, at, tail);
		at[0] = ',';
		at[1] = ' ';
		memcpy(at + 2, token, tl);
		buf_commit(h, tl + 2);
		return true;
	}
	return http_resp_header(r, "Vary", token);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 207: return "Multi-Status";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Unknown";
	}
}

void
http_resp_serialize(const struct http_resp *r, struct buf *out)
{
	const char	*text;
	char		 code[4];
	int		 s = r->status;

	if (s < 100 || s > 999)
		s = 500;	/* never set by the service: a bug */
	text = http_status_text(s);
	code[0] = (char)('0' + s / 100);
	code[1] = (char)('0' + s / 10 % 10);
	code[2] = (char)('0' + s % 10);
	code[3] = ' ';
	buf_append(out, "Status: ", 8);
	buf_append(out, code, 4);
	buf_puts(out, text);
	buf_append(out, "\r\n", 2);
	buf_append(out, r->headers.data, r->headers.len);
	buf_puts(out, "\r\n");
	buf_append(out, r->body.data, r->body.len);
}
