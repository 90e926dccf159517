/*
 * ops.c - the operational endpoints beside the tRPC procedure: the
 * Prometheus metrics (METRICS_PATH), the pool's status page (STATUS_PATH)
 * and the health check (HEALTH_PATH), each off when its path is "off".
 */
#include "config.h"

#include <string.h>

#include "db.h"
#include "metrics.h"
#include "ops.h"

bool
ops_handle(struct service *svc, const struct http_req *req,
    struct http_resp *resp)
{
	const struct settings	*set = svc->set;
	const char		*path = req->path != NULL ? req->path : "";
	bool			 metrics, health, status;

	metrics = strcmp(set->metrics_path, "off") != 0 &&
	    strcmp(path, set->metrics_path) == 0;
	health = strcmp(set->health_path, "off") != 0 &&
	    strcmp(path, set->health_path) == 0;
	status = strcmp(set->status_path, "off") != 0 &&
	    strcmp(path, set->status_path) == 0;
	if (!metrics && !health && !status)
		return false;
	http_resp_reset(resp);
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "X-Content-Type-Options", "nosniff");
	if (metrics) {
		http_resp_header(resp, "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		metrics_render(&resp->body);
	} else if (status) {
		http_resp_header(resp, "Content-Type",
		    "text/plain; charset=utf-8");
		metrics_render_status(&resp->body);
	} else if (db_ping(svc->db) == DB_OK) {
		http_resp_header(resp, "Content-Type", "application/json");
		buf_printf(&resp->body, "{\"status\":\"ok\",\"cache\":\"%s\"}",
		    svc->cache == NULL ? "off" :
		    db_notify_mode(svc->db) == DBN_LISTENING ? "exact" : "ttl");
	} else {
		resp->status = 503;
		http_resp_header(resp, "Content-Type", "application/json");
		buf_puts(&resp->body, "{\"status\":\"unavailable\"}");
	}
	if (req->method != NULL && strcmp(req->method, "HEAD") == 0)
		buf_reset(&resp->body);
	return true;
}
