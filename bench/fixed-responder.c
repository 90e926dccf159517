/*
 * fixed-responder.c - the transport ceiling of the benchmark: a libfcgi
 * responder that answers every request with the same headers as
 * coursegen-status and a fixed body read once at start (FIXED_BODY_FILE),
 * with the same accept loop shape as src/fcgi.c (FCGX_Accept_r, the request
 * parameters looked up, one FCGX_PutStr, the same close). Everything the
 * service does beyond that loop is what the benchmark charges to it.
 *
 *   FIXED_BODY_FILE=body.json spawn-fcgi -s SOCK -F N -- bench/fixed-responder
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static const char head[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Vary: trpc-accept, accept\r\n"
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n";

int
main(void)
{
	FCGX_Request	 r;
	const char	*path = getenv("FIXED_BODY_FILE");
	char		*out, body[65536], sink[4096];
	size_t		 blen = 0;
	int		 olen;
	FILE		*f;

	if (path == NULL || (f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "fixed-responder: set FIXED_BODY_FILE\n");
		return 2;
	}
	blen = fread(body, 1, sizeof(body), f);
	fclose(f);
	if ((out = malloc(sizeof(head) + 64 + blen)) == NULL)
		return 1;
	/* No Content-Length: the service sends none either (nginx chunks). */
	olen = snprintf(out, sizeof(head) + 64, "%s\r\n", head);
	memcpy(out + olen, body, blen);
	olen += (int)blen;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		/* The parameters the service reads, so the lookups cost the same. */
		(void)FCGX_GetParam("REQUEST_METHOD", r.envp);
		(void)FCGX_GetParam("SCRIPT_NAME", r.envp);
		(void)FCGX_GetParam("QUERY_STRING", r.envp);
		(void)FCGX_GetParam("HTTP_AUTHORIZATION", r.envp);
		(void)FCGX_PutStr(out, olen, r.out);
		/* The service's close (fcgi_finish in src/fcgi.c): once the
		 * end of the input has been read, close without waiting for
		 * the web server. */
		while (FCGX_GetStr(sink, (int)sizeof(sink), r.in) > 0)
			;
		if (FCGX_HasSeenEOF(r.in) == EOF && FCGX_GetError(r.in) == 0)
			(void)FCGX_Detach(&r);
		FCGX_Finish_r(&r);
	}
	free(out);
	return 0;
}
