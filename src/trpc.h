/*
 * trpc.h - the tRPC v11 HTTP protocol: procedure paths, batches, inputs from
 * the query string or a POST body, result and error envelopes, JSONL for
 * httpBatchStreamLink, and the HTTP status of the whole response.
 */
#ifndef CS_TRPC_H
#define CS_TRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "http.h"
#include "json.h"

/* The error codes the service sends (JSON-RPC number and HTTP status). */
enum trpc_code {
	TRPC_PARSE_ERROR,
	TRPC_BAD_REQUEST,
	TRPC_UNAUTHORIZED,
	TRPC_FORBIDDEN,
	TRPC_NOT_FOUND,
	TRPC_METHOD_NOT_SUPPORTED,
	TRPC_TIMEOUT,
	TRPC_PAYLOAD_TOO_LARGE,
	TRPC_UNSUPPORTED_MEDIA_TYPE,
	TRPC_TOO_MANY_REQUESTS,
	TRPC_INTERNAL_SERVER_ERROR,
	TRPC_NOT_IMPLEMENTED,
	TRPC_BAD_GATEWAY,
	TRPC_SERVICE_UNAVAILABLE,
	TRPC_GATEWAY_TIMEOUT,
	TRPC__MAX
};

struct trpc_code_info {
	const char	*key;		/* "UNAUTHORIZED" */
	int		 rpc;		/* -32001 */
	int		 http;		/* 401 */
};

/* The table entry of a code. */
const struct trpc_code_info *trpc_code_info(enum trpc_code);

/* The outcome of one procedure call. */
struct trpc_result {
	bool		 ok;
	enum trpc_code	 code;		/* when !ok */
	struct buf	 msg;		/* error message, when !ok */
	struct buf	 data;		/* JSON text of the result, when ok */
};

void	 trpc_result_init(struct trpc_result *);
void	 trpc_result_free(struct trpc_result *);
/* Record an error outcome with a fixed message. */
void	 trpc_fail(struct trpc_result *, enum trpc_code, const char *msg);

/*
 * A call's input as the request carried it: the value (absent when there
 * was none), or the reason it cannot be read. tRPC parses input lazily,
 * when the procedure's input parser runs, after its middlewares (auth).
 */
struct trpc_input {
	struct jref	 value;
	const char	*error;		/* non-NULL: not JSON, or a bad batch */
};

/*
 * Read the input: true with *v set, or false after failing out with
 * BAD_REQUEST and the reason.
 */
bool	 trpc_input_read(const struct trpc_input *, struct jref *v,
	    struct trpc_result *out);

/*
 * A procedure: called with the call's input and fills the result (data on
 * success, or an error).
 */
typedef void (*trpc_proc_fn)(void *ctx, const struct trpc_input *in,
	    struct trpc_result *out);

struct trpc_proc {
	const char	*path;		/* "generation.getStatus" */
	trpc_proc_fn	 fn;
};

/* How much one request may carry. */
struct trpc_limits {
	size_t		 max_batch;	/* calls in one batch */
	size_t		 max_body;	/* POST body bytes */
	size_t		 max_query;	/* QUERY_STRING bytes */
	int		 max_depth;	/* JSON nesting */
};

/*
 * One tRPC endpoint: where it is, what a request may carry, how it
 * serialises, who is told the outcomes, and what its answers vary on.
 */
struct trpc_endpoint {
	const char		*base;		/* "/trpc" */
	struct trpc_limits	 limits;
	bool			 superjson;	/* the superjson transformer */
	/*
	 * Told each request's outcome exactly once, either way: every
	 * call's result (proc NULL: no such procedure), or the request
	 * refused as a whole before any call ran. Either may be NULL.
	 */
	void	(*on_call)(const struct trpc_proc *proc,
		    const struct trpc_result *);
	void	(*on_refusal)(enum trpc_code);
	const char		*vary;	/* Vary; NULL: "trpc-accept, accept" */
	/* The headers every answer has, written once by
	 * trpc_endpoint_prepare() (empty: written per request). */
	struct buf		 head_json, head_none;
};

/*
 * Write the standard headers of ep once, after its fields are set (an
 * endpoint never prepared writes them for every answer). Returns false
 * when memory ran out (the endpoint still works).
 */
bool	 trpc_endpoint_prepare(struct trpc_endpoint *);
void	 trpc_endpoint_free(struct trpc_endpoint *);

/*
 * Answer one HTTP request: parse it as tRPC does, run each call through
 * the matching procedure, and write status, headers and body into resp.
 * Never fails as a whole: every problem becomes a tRPC error response.
 */
void	 trpc_handle(const struct trpc_endpoint *, const struct trpc_proc *,
	    size_t nprocs, void *ctx, const struct http_req *,
	    struct http_resp *);

/*
 * The HTTP status of a batch: the one status all results share, or 207
 * when they differ (tRPC's getHTTPStatusCode).
 */
int	 trpc_batch_status(const struct trpc_result *, size_t n);

/* Append the error envelope {"error":{...}} for one error to b; path may
 * be NULL (request-level errors carry none). */
void	 trpc_write_error(struct buf *b, enum trpc_code, const char *msg,
	    size_t msglen, const char *path, size_t pathlen);

#endif
