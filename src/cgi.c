/* cgi.c - plain CGI: one request from the environment and stdin. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgi.h"
#include "http.h"
#include "intparse.h"
#include "service.h"

/* stdin, and how much of the body has been read from it. */
struct cgi_in {
	FILE		*f;
	long long	 got;
};

static ssize_t
cgi_read(void *ctx, char *dst, size_t n)
{
	struct cgi_in	*in = ctx;
	size_t		 r = fread(dst, 1, n, in->f);

	in->got += (long long)r;
	return r == 0 && ferror(in->f) ? -1 : (ssize_t)r;
}

/*
 * Read what is left of the body CONTENT_LENGTH announces, up to MAX_BODY,
 * before answering. The answers that never look at the body (405, 415, an
 * unknown procedure) otherwise leave it unread, and mod_cgid then holds
 * the answer back until its own timeout (5 seconds). A body over MAX_BODY
 * is a 413 that is not read: Apache's LimitRequestBody refuses it first.
 */
static void
drain_body(struct cgi_in *in, const char *content_length, long long max_body)
{
	char		 sink[8192];
	long long	 len, want;
	size_t		 r;

	if (content_length == NULL || !parse_int_range(content_length, 0,
	    max_body, &len))
		return;
	while (in->got < len) {
		want = len - in->got;
		if (want > (long long)sizeof(sink))
			want = (long long)sizeof(sink);
		if ((r = fread(sink, 1, (size_t)want, in->f)) == 0)
			break;
		in->got += (long long)r;
	}
}

int
cgi_run(struct service *svc)
{
	struct cgi_in	 in = { stdin, 0 };
	struct http_req	 req;
	struct http_resp resp;
	struct buf	 out;
	int		 rc = 0;

	http_req_init(&req, environ, cgi_read, &in);
	http_resp_init(&resp);
	buf_init(&out);
	service_handle(svc, &req, &resp);
	drain_body(&in, req.content_length, svc->set->max_body);
	http_resp_serialize(&resp, &out);
	if (!buf_ok(&out) || fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0)
		rc = -1;
	buf_free(&out);
	http_resp_free(&resp);
	return rc;
}
