/*
 * ops.h - the operational endpoints beside the tRPC procedure: metrics,
 * the status page and the health check.
 */
#ifndef CS_OPS_H
#define CS_OPS_H

#include <stdbool.h>

#include "http.h"
#include "service.h"

/*
 * Answer the request into resp when its path is one of the operational
 * endpoints (compared whole, before anything else), and return true;
 * false, resp untouched, for any other path. Not counted as tRPC calls.
 */
bool	 ops_handle(struct service *, const struct http_req *,
	    struct http_resp *);

#endif
