/*
 * http.c - the request, built once from the web server's variables, and
 * the response: headers that cannot be split, status lines.
 */
#include "config.h"

#include <stddef.h>
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

void
http_req_init(struct http_req *req, char *const *env,
    ssize_t (*read_body)(void *, char *, size_t), void *body_ctx)
{
	const char	*eq, **field;
	size_t		 i, n;

	/* Not the path buffer: http_req_set_path writes what it uses. */
	memset(req, 0, offsetof(struct http_req, path_buf));
	for (; env != NULL && *env != NULL; env++) {
		if ((eq = strchr(*env, '=')) == NULL)
			continue;
		n = (size_t)(eq - *env);
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (vars[i].len == n &&
			    memcmp(vars[i].name, *env, n) == 0) {
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

static bool
header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

bool
http_resp_header(struct http_resp *r, const char *name, const char *value)
{
	if (!header_safe(name) || !header_safe(value) || *name == '\0' ||
	    strchr(name, ':') != NULL)
		return false;
	buf_puts(&r->headers, name);
	buf_puts(&r->headers, ": ");
	buf_puts(&r->headers, value);
	buf_puts(&r->headers, "\r\n");
	return buf_ok(&r->headers);
}

bool
http_resp_vary(struct http_resp *r, const char *token)
{
	struct buf	 b;
	const char	*h, *line, *eol;
	bool		 ok;

	if (!header_safe(token) || *token == '\0' || strchr(token, ',') != NULL)
		return false;
	h = buf_cstr(&r->headers);
	for (line = h; *line != '\0'; line = eol + 2) {
		if ((eol = strstr(line, "\r\n")) == NULL)
			break;
		if (strncasecmp(line, "Vary:", 5) != 0)
			continue;
		/* Name, value, ", token", then the rest as it was. */
		buf_init(&b);
		buf_append(&b, h, (size_t)(eol - h));
		buf_puts(&b, ", ");
		buf_puts(&b, token);
		buf_puts(&b, eol);
		if ((ok = buf_ok(&b))) {
			buf_reset(&r->headers);
			buf_append(&r->headers, b.data, b.len);
			ok = buf_ok(&r->headers);
		}
		buf_free(&b);
		return ok;
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
	buf_printf(out, "Status: %d %s\r\n", r->status,
	    http_status_text(r->status));
	buf_append(out, r->headers.data, r->headers.len);
	buf_puts(out, "\r\n");
	buf_append(out, r->body.data, r->body.len);
}
