/* cgi.c - plain CGI: one request from the environment and stdin. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cgi.h"
#include "http.h"
#include "service.h"

static ssize_t
cgi_read(void *ctx, char *dst, size_t n)
{
	size_t r = fread(dst, 1, n, (FILE *)ctx);

	return r == 0 && ferror((FILE *)ctx) ? -1 : (ssize_t)r;
}

int
cgi_run(struct service *svc)
{
	struct http_req	 req = {
		.method = getenv("REQUEST_METHOD"),
		.script_name = getenv("SCRIPT_NAME"),
		.path_info = getenv("PATH_INFO"),
		.query = getenv("QUERY_STRING"),
		.content_type = getenv("CONTENT_TYPE"),
		.content_length = getenv("CONTENT_LENGTH"),
		.authorization = getenv("HTTP_AUTHORIZATION"),
		.trpc_accept = getenv("HTTP_TRPC_ACCEPT"),
		.accept = getenv("HTTP_ACCEPT"),
		.accept_language = getenv("HTTP_ACCEPT_LANGUAGE"),
		.origin = getenv("HTTP_ORIGIN"),
		.cors_method = getenv("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
		.remote_addr = getenv("REMOTE_ADDR"),
		.read_body = cgi_read,
		.body_ctx = stdin,
	};
	struct http_resp resp;
	struct buf	 out;
	int		 rc = 0;

	http_resp_init(&resp);
	buf_init(&out);
	service_handle(svc, &req, &resp);
	http_resp_serialize(&resp, &out);
	if (!buf_ok(&out) || fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0)
		rc = -1;
	buf_free(&out);
	http_resp_free(&resp);
	return rc;
}
