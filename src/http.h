/* http.h - the request as the web server hands it over, and the response. */
#ifndef CS_HTTP_H
#define CS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* The longest request path (SCRIPT_NAME + PATH_INFO) kept, in bytes: more
 * than nginx (8 KiB request line) and Apache (LimitRequestLine 8190) pass. */
#define HTTP_PATH_MAX	8192

/*
 * The request, built once at the edge by http_req_init from the web
 * server's CGI/FastCGI variables. Each variable is one row of the table in
 * http.c (name -> field): adding one is a row there and a field here. Any
 * may be NULL (not set). The body is read through read_body, which returns
 * the number of bytes read (0 at the end) or -1 on error.
 */
struct http_req {
	const char	*method;		/* REQUEST_METHOD */
	const char	*script_name;		/* SCRIPT_NAME */
	const char	*path_info;		/* PATH_INFO */
	const char	*query;			/* QUERY_STRING */
	const char	*content_type;		/* CONTENT_TYPE */
	const char	*content_length;	/* CONTENT_LENGTH */
	const char	*authorization;		/* HTTP_AUTHORIZATION */
	const char	*trpc_accept;		/* HTTP_TRPC_ACCEPT */
	const char	*accept;		/* HTTP_ACCEPT */
	const char	*accept_language;	/* HTTP_ACCEPT_LANGUAGE */
	const char	*origin;		/* HTTP_ORIGIN */
	const char	*cors_method;	/* HTTP_ACCESS_CONTROL_REQUEST_METHOD */
	const char	*remote_addr;		/* REMOTE_ADDR (access log, rate limits) */
	const char	*request_id;		/* REQUEST_ID: nginx's $request_id */
	ssize_t		(*read_body)(void *ctx, char *dst, size_t n);
	void		*body_ctx;
	/*
	 * The path: SCRIPT_NAME + PATH_INFO (nginx's stock fastcgi_params
	 * put the whole path in SCRIPT_NAME; Apache splits it), NUL-ended,
	 * path_len bytes. A longer one than HTTP_PATH_MAX is cut there and
	 * path_too_long set (the tRPC layer refuses it).
	 */
	const char	*path;
	size_t		 path_len;
	bool		 path_too_long;
	char		 path_buf[HTTP_PATH_MAX + 1];
};

/*
 * Build the request from the variables in env, an array of "NAME=value"
 * strings ended by NULL (FastCGI's parameters, or CGI's environ), in one
 * pass. The first of duplicated names wins, as with getenv and
 * FCGX_GetParam. The fields point into env, which must outlive the
 * request.
 */
void	 http_req_init(struct http_req *, char *const *env,
	    ssize_t (*read_body)(void *, char *, size_t), void *body_ctx);
/* Set the path from SCRIPT_NAME and PATH_INFO again (after a caller
 * changed them: tests, the fuzzer). */
void	 http_req_set_path(struct http_req *);

struct http_resp {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
};

void	 http_resp_init(struct http_resp *);
void	 http_resp_reset(struct http_resp *);
void	 http_resp_free(struct http_resp *);
/*
 * Add a header. The only way headers are written: a name or value with
 * CR, LF or NUL is refused (returns false, nothing added).
 */
bool	 http_resp_header(struct http_resp *, const char *name,
	    const char *value);
/*
 * Append header lines another response was given by http_resp_header (so
 * already checked): the fixed headers of every answer, written once.
 */
void	 http_resp_header_lines(struct http_resp *, const struct buf *lines);
/*
 * Add one field name to the response's Vary header: appended to the first
 * Vary line when there is one (one list, as caches read it best), else a
 * new Vary header. Refused like http_resp_header for CR, LF or a comma.
 */
bool	 http_resp_vary(struct http_resp *, const char *token);
/* Reason phrase for a status code ("OK", "Multi-Status", ...). */
const char *http_status_text(int);
/*
 * The CGI/FastCGI form of the response: a "Status:" line, the headers,
 * an empty line and the body, into out.
 */
void	 http_resp_serialize(const struct http_resp *, struct buf *out);

#endif
