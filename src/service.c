/*
 * service.c - generation.getStatus: authenticate, validate the input,
 * answer from the cache or the database, compute the state and render it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acceptlang.h"
#include "cache.h"
#include "clock.h"
#include "cors.h"
#include "db.h"
#include "input.h"
#include "json.h"
#include "log.h"
#include "meta.h"
#include "metrics.h"
#include "ops.h"
#include "ratelimit.h"
#include "render.h"
#include "service.h"
#include "uuid.h"

static const char MSG_UNAUTHORIZED[] = "Invalid or missing access token";
static const char MSG_FORBIDDEN[] = "You do not have access to this course";
static const char MSG_NOT_FOUND[] = "Course not found";
static const char MSG_INTERNAL[] = "Internal server error";
static const char MSG_UNAVAILABLE[] = "Service temporarily unavailable";
static const char MSG_TIMEOUT[] = "Database query timed out";
static const char MSG_TOO_MANY[] = "Too many requests";

/* State of one HTTP request, shared by its calls (a batch verifies the
 * token once). */
struct reqctx {
	struct service		*svc;
	const struct http_req	*req;
	bool			 auth_done;
	enum auth_err		 auth;
	struct auth_identity	 id;
	enum gen_lang		 lang;	/* from Accept-Language */
	bool			 lang_used;	/* an answer's message is in it */
	long long		 retry_after;	/* s; > 0: a call was limited */
	/* > 0: the token was left unverified, its address being past its
	 * limit; the seconds the address must wait. */
	long long		 unverified;
	bool			 refused_taken;	/* from refused_key's bucket */
};

/* One change notification: forget what it names. */
static void
on_notice(void *arg, const char *payload)
{
	struct service *svc = arg;

	metrics_cache_notice(cache_apply_notice(svc->cache, payload));
}

/*
 * Bring the cache up to date before it answers: apply the notifications
 * that arrived (no waiting: cache_sync), flush when the connection was
 * opened or lost since (some may have been missed: cache_adopt), and keep
 * entries until invalidated only while notifications arrive; else they
 * expire after CACHE_TTL_MS. After a read, only cache_adopt runs before
 * the row is stored: a notification that came with the result may be of
 * a change the row does not show yet, and must be applied after the put.
 */
static void
cache_adopt(struct service *svc)
{
	enum db_notify	 n;
	unsigned	 epoch;

	if ((epoch = db_epoch(svc->db)) != svc->cache_epoch) {
		svc->cache_epoch = epoch;
		cache_flush(svc->cache);
		metrics_cache_flush();
	}
	n = db_notify_mode(svc->db);
	if (n != DBN_UNKNOWN && (n == DBN_LISTENING) !=
	    cache_is_exact(svc->cache)) {
		cache_set_exact(svc->cache, n == DBN_LISTENING);
		metrics_cache_mode(n == DBN_LISTENING ? MCM_EXACT : MCM_TTL);
	} else if (n != DBN_UNKNOWN && !svc->mode_shown) {
		metrics_cache_mode(MCM_TTL);	/* TTL from the start */
	}
	if (n != DBN_UNKNOWN)
		svc->mode_shown = true;
}

static void
cache_sync(struct service *svc)
{
	if (svc->cache == NULL)
		return;
	db_drain(svc->db, on_notice, svc);
	cache_adopt(svc);
}

void
service_idle(struct service *svc)
{
	cache_sync(svc);
}

void
service_share(struct service *svc, int listen_fd)
{
	struct cache_seen *seen;

	if (svc->cache == NULL)
		return;
	if ((seen = cache_seen_map(listen_fd)) == NULL)
		log_msg(LOG_LVL_WARN, "status cache: no shared memory for the "
		    "workers' reads (shm_open); each worker keeps only its "
		    "own order");
	cache_share(svc->cache, seen);
}

/* What identifies the row's content (FNV-1a over the fields read). */
static uint32_t
row_version(const struct db_row *row)
{
	uint64_t	 h = UINT64_C(14695981039346656037);
	const char	*parts[5];
	int64_t		 nums[2] = { row->created_ms, row->updated_ms };
	size_t		 i, j, n;

	parts[0] = row->owner;
	parts[1] = row->has_org ? row->org : "-";
	parts[2] = row->status_null ? "\x01" : row->status;
	parts[3] = row->meta != NULL ? row->meta : "\x01";
	parts[4] = (const char *)nums;
	for (i = 0; i < 5; i++) {
		n = i == 3 && row->meta != NULL ? row->meta_len :
		    i == 4 ? sizeof(nums) : strlen(parts[i]);
		for (j = 0; j < n; j++)
			h = (h ^ (unsigned char)parts[i][j]) *
			    UINT64_C(1099511628211);
		h = (h ^ 0xff) * UINT64_C(1099511628211);
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* The cached answer, with its time-dependent field computed now by the
 * database's clock (as the query would have). */
static void
serve_cached(struct service *svc, const struct cache_course *e,
    struct trpc_result *out)
{
	char	 tmp[24], *p = tmp + sizeof(tmp);
	int64_t	 el, eta;

	out->ok = true;
	if (!e->eta.set) {
		buf_append(&out->data, e->data, e->len);
		return;
	}
	el = clock_real_ms() + svc->clock_offset_ms - e->eta.created_ms;
	eta = gen_eta_seconds(e->eta.progress,
	    (double)(el > 0 ? el : 0) / 1000.0);
	do
		*--p = (char)('0' + eta % 10);
	while ((eta /= 10) != 0);
	buf_append(&out->data, e->data, e->eta.at);
	buf_append(&out->data, p, (size_t)(tmp + sizeof(tmp) - p));
	buf_append(&out->data, e->data + e->eta.end, e->len - e->eta.end);
}

/*
 * The cache answers only when the decision for *this* user follows from
 * what it holds: the user owns the course, or the user's membership in
 * the course's organization is cached too. Returns true when it answered.
 */
static bool
try_cache(struct reqctx *ctx, const char *course, struct trpc_result *out)
{
	const struct cache_course	*e;
	const char			*user = ctx->id.user_id;
	int64_t				 now = clock_mono_ms();
	int				 m;

	if ((e = cache_course_get(ctx->svc->cache, course, (int)ctx->lang,
	    now)) == NULL) {
		if (ctx->svc->cache != NULL)
			metrics_cache(MC_STATUS, ML_MISS);
		return false;
	}
	if (strcmp(e->owner, user) == 0) {
		metrics_cache(MC_STATUS, ML_HIT);
		serve_cached(ctx->svc, e, out);
		return true;
	}
	if (!e->has_org) {
		metrics_cache(MC_STATUS, ML_HIT);
		trpc_fail(out, TRPC_FORBIDDEN, MSG_FORBIDDEN);
		return true;
	}
	if ((m = cache_member_get(ctx->svc->cache, user, e->org, now)) < 0) {
		metrics_cache(MC_STATUS, ML_MISS);
		return false;
	}
	metrics_cache(MC_STATUS, ML_HIT);
	if (m == 1)
		serve_cached(ctx->svc, e, out);
	else
		trpc_fail(out, TRPC_FORBIDDEN, MSG_FORBIDDEN);
	return true;
}

static void
log_dropped(const char *course, unsigned dropped)
{
	if (dropped == 0)
		return;
	log_msg(LOG_LVL_WARN, "course %s: generation_metadata values outside "
	    "the output schema were left out (%s%s%s%s%s%s)", course,
	    dropped & GD_QUALITY ? " quality_scores.overall" : "",
	    dropped & GD_LESSONS ? " total_lessons" : "",
	    dropped & GD_SECTIONS ? " total_sections" : "",
	    dropped & GD_DURATION ? " duration_ms.total" : "",
	    dropped & GD_BATCHES ? " batch_count/total_batches" : "",
	    dropped & GD_PROGRESS ? " last_progress" : "");
}

/*
 * Where the rendered estimatedRemainingSeconds value sits, so a cached
 * answer can have it computed again. The key comes before any text taken
 * from the row (the metadata), and such text has its quotes escaped, so
 * the first match is the key.
 */
static void
find_eta(const struct buf *b, const struct gen_state *st, int64_t started_ms,
    struct cache_eta *eta)
{
	static const char key[] = "\"estimatedRemainingSeconds\":";
	const char	*p, *v, *end = b->data + b->len;

	if ((p = memmem(b->data, b->len, key, sizeof(key) - 1)) == NULL)
		return;
	for (v = p + sizeof(key) - 1; v < end && *v >= '0' && *v <= '9'; v++)
		;
	eta->at = (size_t)(p - b->data) + sizeof(key) - 1;
	eta->end = (size_t)(v - b->data);
	eta->progress = st->progress_exact;
	eta->created_ms = started_ms;
	eta->set = eta->end > eta->at;
}

/* Compute and render the status of a fetched row into out->data. */
static bool
build_status(const struct db_row *row, enum gen_lang lang,
    struct trpc_result *out, struct cache_eta *eta)
{
	enum gen_status		 gs;
	struct gen_meta		 meta;
	struct gen_state	 st;
	struct jdoc		*doc = NULL;
	char			 esc[64];
	int64_t			 started_ms;
	bool			 ok;

	if (!gen_status_parse(row->status, row->status_null, &gs)) {
		log_msg(LOG_LVL_ERROR, "course %s: unknown generation_status "
		    "\"%s\"", row->id, log_escape(row->status,
		    strlen(row->status), esc, sizeof(esc)));
		return false;
	}
	if (meta_read(row->meta, row->meta_len, &meta, &doc) != 0) {
		log_msg(LOG_LVL_ERROR, "course %s: generation_metadata is not "
		    "JSON", row->id);
		jdoc_free(doc);
		return false;
	}
	started_ms = gen_started_ms(&meta, row->created_ms);
	gen_state_compute(gs, &meta, row->now_ms - started_ms, &st);
	log_dropped(row->id, st.dropped);
	ok = render_status(row->id, &st, lang, started_ms,
	    row->updated_ms, &out->data);
	jdoc_free(doc);
	memset(eta, 0, sizeof(*eta));
	if (ok && st.eta_set)
		find_eta(&out->data, &st, started_ms, eta);
	if (!ok)
		log_msg(LOG_LVL_ERROR, "course %s: a timestamp cannot be "
		    "written as ISO 8601", row->id);
	return ok;
}

/*
 * The bucket of an address's refused tokens: calls whose token failed
 * verification take from it as well as from the address's bucket. A key of
 * its own, so that calls that cost no verify (verify_spent) never drain it.
 */
static uint64_t
refused_key(const struct reqctx *ctx)
{
	uint64_t k = ratelimit_key(RL_ADDRESS, ctx->req->remote_addr);

	return k == 0 ? 0 : (k ^ 0x5bd1e9955bd1e995ULL) | 1;
}

/* Whether refusing the token may have cost a signature check: not when
 * it was missing, of another scheme, too long, not a canonical JWS (e.g.
 * alg "none" with its empty signature), or for no key we hold. */
static bool
verify_spent(enum auth_err e)
{
	return e != AUTH_OK && e != AUTH_MISSING && e != AUTH_NOT_BEARER &&
	    e != AUTH_TOO_LONG && e != AUTH_MALFORMED && e != AUTH_WRONG_ALG;
}

/*
 * Take this call from its client's bucket: the user's, or without a valid
 * token the client address's. False after failing out with 429.
 */
static bool
rate_check(struct reqctx *ctx, struct trpc_result *out)
{
	const struct settings	*set = ctx->svc->set;
	enum rl_kind		 kind = ctx->auth == AUTH_OK ? RL_USER :
				    RL_ADDRESS;
	enum rl_verdict		 v;
	long long		 wait = 0;
	int64_t			 now;
	int			 evicted;

	if (ctx->unverified > 0) {
		metrics_ratelimit(RL_ADDRESS, RL_LIMIT);
		metrics_ratelimit_unverified();
		wait = ctx->unverified;
		goto limited;
	}
	if (set->rate_limit <= 0)
		return true;
	now = clock_mono_us() * 1000;
	if (kind == RL_ADDRESS && verify_spent(ctx->auth) &&
	    !ctx->refused_taken) {
		/* A verify spent on a refused token (once per request). */
		ctx->refused_taken = true;
		(void)ratelimit_take(refused_key(ctx), now, set->rate_limit,
		    set->rate_limit_burst, &wait, &evicted);
		if (evicted != 0)
			metrics_ratelimit_evict(evicted == 2);
		wait = 0;
	}
	v = ratelimit_take(ratelimit_key(kind, kind == RL_USER ?
	    ctx->id.user_id : ctx->req->remote_addr), now,
	    set->rate_limit, set->rate_limit_burst, &wait, &evicted);
	if (evicted != 0)
		metrics_ratelimit_evict(evicted == 2);
	if (v == RL_OFF)
		return true;
	metrics_ratelimit(kind, v);
	if (v == RL_ALLOW)
		return true;
limited:
	if (wait > ctx->retry_after)
		ctx->retry_after = wait;
	trpc_fail(out, TRPC_TOO_MANY_REQUESTS, MSG_TOO_MANY);
	return false;
}

/*
 * Who is calling: verify the token, from the token cache when it can. A
 * token the cache does not know costs a signature check (an RSA or ECDSA
 * verify, 15 to 50 us, as much as the rest of a call). When the address's
 * refused tokens are already past the limit, the call is refused without
 * verifying, unless the cache knows the token: a flood of forged tokens
 * costs one verify per call that bucket admits, not one per call; users
 * behind the same address whose tokens this worker verified before are not
 * affected, nor are new ones while nobody there sends forged tokens.
 */
static void
authenticate(struct reqctx *ctx)
{
	struct service		*svc = ctx->svc;
	const struct settings	*set = svc->set;
	int64_t			 now = (int64_t)time(NULL);
	long long		 wait = 0;
	bool			 hit;

	if (set->rate_limit > 0 && ctx->req->authorization != NULL) {
		/* The cache first: a polling client's token is there, and
		 * costs no look at the address. */
		if (auth_cache_lookup(svc->tokens, ctx->req->authorization,
		    now, &ctx->id)) {
			metrics_cache(MC_TOKENS, ML_HIT);
			ctx->auth = AUTH_OK;
			return;
		}
		if (ratelimit_peek(refused_key(ctx), clock_mono_us() * 1000,
		    set->rate_limit, set->rate_limit_burst, &wait) ==
		    RL_LIMIT) {
			if (svc->tokens != NULL)
				metrics_cache(MC_TOKENS, ML_MISS);
			ctx->auth = AUTH_INVALID;
			ctx->unverified = wait;
			return;
		}
	}
	ctx->auth = auth_verify_cached(&svc->auth, svc->tokens,
	    ctx->req->authorization, now, &ctx->id, &hit);
	if (svc->tokens != NULL)
		metrics_cache(MC_TOKENS, hit ? ML_HIT : ML_MISS);
	if (ctx->auth != AUTH_OK)
		log_msg(LOG_LVL_DEBUG, "token refused: %s",
		    auth_err_str(ctx->auth));
}

static void
proc_get_status(void *vctx, const struct trpc_input *in,
    struct trpc_result *out)
{
	struct reqctx	*ctx = vctx;
	struct service	*svc = ctx->svc;
	char		 course[UUID_STRLEN + 1];
	struct jref	 input;
	struct db_row	 row;
	struct cache_eta eta;
	enum db_status	 ds;
	int64_t		 t0, t1;
	uint32_t	 ver;

	/* Authentication first, as a protectedProcedure's middleware runs
	 * before its input parser. */
	if (!ctx->auth_done) {
		authenticate(ctx);
		ctx->auth_done = true;
	}
	if (!rate_check(ctx, out))
		return;
	if (ctx->auth != AUTH_OK) {
		trpc_fail(out, TRPC_UNAUTHORIZED, MSG_UNAUTHORIZED);
		return;
	}
	if (!trpc_input_read(in, &input, out))
		return;
	if (!input_getstatus(input, course, &out->msg)) {
		out->ok = false;
		out->code = TRPC_BAD_REQUEST;
		return;
	}
	if (try_cache(ctx, course, out)) {
		ctx->lang_used |= out->ok;
		return;
	}

	t0 = clock_mono_ms();
	ds = db_fetch(svc->db, course, ctx->id.user_id, &row);
	t1 = clock_mono_ms();
	switch (ds) {
	case DB_OK:
		svc->clock_offset_ms = row.now_ms - clock_real_ms();
		break;
	case DB_NOT_FOUND:
		/* Gone: other workers must not answer from an older read. */
		cache_course_seen(svc->cache, course, 0, t1);
		trpc_fail(out, TRPC_NOT_FOUND, MSG_NOT_FOUND);
		return;
	case DB_UNAVAILABLE:
		trpc_fail(out, TRPC_SERVICE_UNAVAILABLE, MSG_UNAVAILABLE);
		return;
	case DB_TIMEOUT:
		trpc_fail(out, TRPC_GATEWAY_TIMEOUT, MSG_TIMEOUT);
		return;
	default:
		trpc_fail(out, TRPC_INTERNAL_SERVER_ERROR, MSG_INTERNAL);
		return;
	}
	/* A reconnect in db_fetch listened before it read: the row is good
	 * for the new connection's cache. */
	if (svc->cache != NULL)
		cache_adopt(svc);
	/* Remember the membership verdict (not for the owner, whose access
	 * never depends on it). */
	if (row.has_org && strcmp(row.owner, ctx->id.user_id) != 0) {
		cache_member_put(svc->cache, ctx->id.user_id, row.org,
		    row.allowed, t0);
		cache_member_seen(svc->cache, ctx->id.user_id, row.org,
		    row.allowed, t1);
	}
	ver = row_version(&row);
	cache_course_seen(svc->cache, row.id, ver, t1);
	if (!row.allowed) {
		trpc_fail(out, TRPC_FORBIDDEN, MSG_FORBIDDEN);
	} else if (!build_status(&row, ctx->lang, out, &eta)) {
		buf_reset(&out->data);
		trpc_fail(out, TRPC_INTERNAL_SERVER_ERROR, MSG_INTERNAL);
	} else {
		out->ok = true;
		ctx->lang_used = true;
		cache_course_put(svc->cache, row.id, (int)ctx->lang, row.owner,
		    row.has_org ? row.org : NULL, out->data.data,
		    out->data.len, &eta, ver, t0);
	}
	db_row_release(&row);
}

static const struct trpc_proc procedures[] = {
	{ "generation.getStatus", proc_get_status },
};

/* Count every call's outcome (trpc_endpoint.on_call). */
static void
count_call(const struct trpc_proc *proc, const struct trpc_result *r)
{
	enum metrics_proc p = proc == NULL ? MP_UNKNOWN : MP_GET_STATUS;

	if (r->ok)
		metrics_call_ok(p);
	else
		metrics_call_failed(p, r->code);
}

/* Count a request refused before any call (trpc_endpoint.on_refusal). */
static void
count_refusal(enum trpc_code code)
{
	metrics_call_failed(MP_NONE, code);
}

int
service_init(struct service *svc, const struct settings *set)
{
	struct db_cfg	 dc;
	char		 err[160];

	memset(svc, 0, sizeof(*svc));
	svc->set = set;
	svc->endpoint.base = set->trpc_base;
	svc->endpoint.limits.max_batch = (size_t)set->max_batch;
	svc->endpoint.limits.max_body = (size_t)set->max_body;
	svc->endpoint.limits.max_query = (size_t)set->max_query;
	svc->endpoint.limits.max_depth = 32;
	svc->endpoint.superjson = set->superjson;
	svc->endpoint.on_call = count_call;
	svc->endpoint.on_refusal = count_refusal;
	if (cors_parse(&svc->cors, set->cors_origins, err, sizeof(err)) != 0)
		return -1;	/* settings_load checked it: out of memory */
	if (svc->cors.n > 0)
		svc->endpoint.vary = "trpc-accept, accept, Origin";
	/* Without memory now, each answer writes them. */
	(void)trpc_endpoint_prepare(&svc->endpoint);
	svc->auth.keys = &set->keys;
	svc->auth.leeway = set->jwt_leeway;
	svc->auth.audience = set->jwt_audience;
	svc->auth.issuer = set->jwt_issuer;
	dc.conninfo = set->database_url;
	dc.connect_timeout = (int)set->db_connect_timeout;
	dc.statement_timeout_ms = (int)set->db_statement_timeout_ms;
	dc.prepare = set->db_prepare != 0;
	dc.listen = set->cache_ttl_ms > 0 && set->cache_entries > 0 &&
	    set->cache_notify != 0;
	if ((svc->db = db_new(&dc)) == NULL) {
		cors_free(&svc->cors);
		trpc_endpoint_free(&svc->endpoint);
		return -1;
	}
	if (set->cache_ttl_ms > 0 && set->cache_entries > 0 &&
	    (svc->cache = cache_new((size_t)set->cache_entries,
	    set->cache_ttl_ms)) == NULL) {
		db_free(svc->db);
		cors_free(&svc->cors);
		trpc_endpoint_free(&svc->endpoint);
		return -1;
	}
	/* The token cache is an optimisation: without memory, no cache. */
	svc->tokens = auth_cache_new((size_t)set->token_cache);
	return 0;
}

void
service_free(struct service *svc)
{
	db_free(svc->db);
	cache_free(svc->cache);
	auth_cache_free(svc->tokens);
	cors_free(&svc->cors);
	trpc_endpoint_free(&svc->endpoint);
	memset(svc, 0, sizeof(*svc));
}

void
service_handle(struct service *svc, const struct http_req *req,
    struct http_resp *resp)
{
	struct reqctx	 ctx;
	int64_t		 t0 = clock_mono_us();
	char		 m[16], p[160];

	/* Before anything is answered: the changes notified so far. */
	cache_sync(svc);
	if (ops_handle(svc, req, resp))
		return;
	if (cors_preflight(&svc->cors, req, resp)) {
		/* Not a tRPC call: counted on its own, timed and logged as
		 * any request. */
		metrics_cors_preflight(resp->status == 204);
		goto done;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.svc = svc;
	ctx.req = req;
	ctx.lang = accept_lang_prefers_en(req->accept_language) ? GL_EN : GL_RU;
	trpc_handle(&svc->endpoint, procedures,
	    sizeof(procedures) / sizeof(procedures[0]), &ctx, req, resp);
	/* A status's message follows Accept-Language; errors do not. */
	if (ctx.lang_used)
		(void)http_resp_vary(resp, "Accept-Language");
	if (ctx.retry_after > 0) {
		char s[24];

		snprintf(s, sizeof(s), "%lld", ctx.retry_after);
		http_resp_header(resp, "Retry-After", s);
	}
	cors_headers(&svc->cors, req, resp);
done:
	metrics_latency((uint64_t)(clock_mono_us() - t0));
	/* One line per request, off by default (nginx logs requests). No
	 * query string: it carries the input. */
	if (svc->set->access_log) {
		const char	*meth = req->method ? req->method : "-";
		const char	*addr = req->remote_addr ? req->remote_addr : "-";
		const char	*id = req->request_id ? req->request_id : "-";
		char		 a[64], rid[80];

		log_msg(LOG_LVL_INFO, "access: %s %s %s %d %lld ms id=%s",
		    log_escape(addr, strlen(addr), a, sizeof(a)),
		    log_escape(meth, strlen(meth), m, sizeof(m)),
		    log_escape(req->path != NULL ? req->path : "",
		    req->path != NULL ? req->path_len : 0, p, sizeof(p)),
		    resp->status, (long long)(clock_mono_us() - t0) / 1000,
		    log_escape(id, strlen(id), rid, sizeof(rid)));
	}
}

int
service_check(struct service *svc, char *err, size_t errlen)
{
	return db_check(svc->db, err, errlen) == DB_OK ? 0 : -1;
}
