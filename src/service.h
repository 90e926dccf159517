/*
 * service.h - the application: generation.getStatus wired to auth, the
 * cache, the database and the state machine, behind the tRPC protocol.
 */
#ifndef CS_SERVICE_H
#define CS_SERVICE_H

#include "auth.h"
#include "cors.h"
#include "http.h"
#include "settings.h"
#include "trpc.h"

struct db;
struct cache;
struct auth_cache;

struct service {
	const struct settings	*set;
	struct trpc_endpoint	 endpoint;
	struct auth_cfg		 auth;
	struct db		*db;
	struct cache		*cache;
	struct auth_cache	*tokens;
	struct cors		 cors;
	unsigned		 cache_epoch;	/* db_epoch() the cache is of */
	int64_t			 clock_offset_ms; /* database clock - ours */
	bool			 mode_shown;	/* the cache mode is in the metrics */
};

/* Set up from settings (no database connection yet). 0, or -1 on ENOMEM. */
int	 service_init(struct service *, const struct settings *);
void	 service_free(struct service *);
/* Answer one request into resp. Never fails as a whole. */
void	 service_handle(struct service *, const struct http_req *,
	    struct http_resp *);
/* Share what this worker reads with the other workers on the same
 * listening socket (the cache's order guard). */
void	 service_share(struct service *, int listen_fd);
/* Between requests (the accept loop's idle tick): apply the change
 * notifications that arrived, so the server's queue never waits for us. */
void	 service_idle(struct service *);
/* Connect and prepare now; 0 when fine, else -1 with a message in err. */
int	 service_check(struct service *, char *err, size_t errlen);

#endif
