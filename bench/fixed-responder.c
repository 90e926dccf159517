/*
 * fixed-responder.c - the transport ceiling of the benchmark: a libfcgi
 * responder that answers every request with the same headers as
 * coursegen-status and a fixed body read once at start (FIXED_BODY_FILE),
 * with the same accept loop shape as src/fcgi.c (FCGX_Accept_r, the request
 * parameters looked up, one FCGX_PutStr, the same close). Everything the
 * service does beyond that loop is what the benchmark charges to it.
 *
 *   FIXED_BODY_FILE=body.json spawn-fcgi -s SOCK -F N -- bench/fixed-responder
 *
 * With FIXED_DB_URL (a libpq connection string), FIXED_DB_QUERY (the service's
 * statement, parameters $1 course and $2 user) and FIXED_DB_USER, it is the
 * transport-plus-database floor instead: each request also runs the query,
 * prepared once on one persistent connection, for the courseId taken from the
 * query string, and still answers the fixed body. The service's cost beyond
 * that floor is its own work: parsing, JWT, the state, JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

static const char head[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Vary: trpc-accept, accept\r\n"
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n";

/* The 36 characters after courseId":" in the (percent-encoded) query. */
static int
course_of(const char *qs, char out[37])
{
	static const char mark[] = "courseId%22%3A%22";
	const char	*p;

	if (qs == NULL || (p = strstr(qs, mark)) == NULL ||
	    strlen(p + sizeof(mark) - 1) < 36)
		return -1;
	memcpy(out, p + sizeof(mark) - 1, 36);
	out[36] = '\0';
	return 0;
}

/* One query for the request; 0 if it returned a result set. */
static int
query(PGconn *db, const char *qs, const char *user)
{
	char		 course[37];
	const char	*params[2];
	PGresult	*res;
	int		 ok;

	if (course_of(qs, course) != 0)
		return -1;
	params[0] = course;
	params[1] = user;
	res = PQexecPrepared(db, "q", 2, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	return ok ? 0 : -1;
}

int
main(void)
{
	FCGX_Request	 r;
	const char	*path = getenv("FIXED_BODY_FILE");
	char		*out, body[65536], sink[4096], *qs;
	const char	*db_user = NULL;
	PGconn		*db = NULL;
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
	if (getenv("FIXED_DB_URL") != NULL) {
		PGresult *res;

		db_user = getenv("FIXED_DB_USER");
		db = PQconnectdb(getenv("FIXED_DB_URL"));
		if (PQstatus(db) != CONNECTION_OK || db_user == NULL ||
		    getenv("FIXED_DB_QUERY") == NULL) {
			fprintf(stderr, "fixed-responder: database: %s",
			    PQerrorMessage(db));
			return 1;
		}
		res = PQprepare(db, "q", getenv("FIXED_DB_QUERY"), 2, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "fixed-responder: prepare: %s",
			    PQerrorMessage(db));
			return 1;
		}
		PQclear(res);
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		/* The parameters the service reads, so the lookups cost the same. */
		(void)FCGX_GetParam("REQUEST_METHOD", r.envp);
		(void)FCGX_GetParam("SCRIPT_NAME", r.envp);
		qs = FCGX_GetParam("QUERY_STRING", r.envp);
		(void)FCGX_GetParam("HTTP_AUTHORIZATION", r.envp);
		if (db != NULL && query(db, qs, db_user) != 0)
			(void)FCGX_PutS("Status: 500 Internal Server Error\r\n"
			    "Content-Type: text/plain\r\n\r\nquery failed\n", r.out);
		else
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
	PQfinish(db);
	return 0;
}
