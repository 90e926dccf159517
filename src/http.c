/* http.c - the response: headers that cannot be split, status lines. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "http.h"

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
