/* fcgi.c - the only module that includes libfcgi: the accept loop. */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>

#include "clock.h"
#include "fcgi.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "service.h"

bool
fcgi_on_socket(void)
{
	return FCGX_IsCGI() == 0;
}

static ssize_t
fcgi_read(void *ctx, char *dst, size_t n)
{
	int r;

	if (n > 1 << 20)
		n = 1 << 20;
	r = FCGX_GetStr(dst, (int)n, (FCGX_Stream *)ctx);
	return r < 0 ? -1 : (ssize_t)r;
}

/*
 * End the request. libfcgi closes a connection gracefully: shutdown, then
 * wait until the web server closes its side, so that unread input cannot
 * make the kernel reset the connection and lose the response. That wait
 * costs every request a sleep and a wake-up. It is needed only while input
 * is left unread: the web server sends nothing after the end of FCGI_STDIN.
 * So read what is left of it, up to a small bound (usually nothing, or the
 * empty record already in libfcgi's buffer), and when its end has been
 * seen, detach the request, which makes libfcgi close at once.
 */
static void
fcgi_finish(FCGX_Request *r)
{
	char	 sink[4096];
	int	 budget = 16;

	while (budget-- > 0 && FCGX_GetStr(sink, (int)sizeof(sink), r->in) > 0)
		;
	if (FCGX_HasSeenEOF(r->in) == EOF && FCGX_GetError(r->in) == 0)
		(void)FCGX_Detach(r);
	FCGX_Finish_r(r);
}

/* Answer the request just accepted on r. */
static void
serve_one(struct service *svc, FCGX_Request *r, struct http_resp *resp,
    struct buf *out)
{
	struct http_req req;

	metrics_worker_busy();
	http_req_init(&req, r->envp, fcgi_read, r->in);

	service_handle(svc, &req, resp);
	buf_reset(out);
	http_resp_serialize(resp, out);
	if (buf_ok(out) && out->len <= (size_t)INT32_MAX)
		(void)FCGX_PutStr(out->data, (int)out->len, r->out);
	/* Before the answer leaves (finish flushes it): a client's next
	 * request must not find this worker still counted as busy. */
	metrics_worker_idle();
	fcgi_finish(r);
}

/* Run the handlers of the signals in `hold` that arrived while blocked.
 * (One set operation, not a test of each of the 64 signals: this runs after
 * every request.) */
static void
deliver(const sigset_t *hold)
{
	sigset_t	 pend, mine;

	if (sigpending(&pend) != 0 || sigandset(&mine, &pend, hold) != 0 ||
	    sigisemptyset(&mine))
		return;
	sigprocmask(SIG_UNBLOCK, hold, NULL);
	sigprocmask(SIG_BLOCK, hold, NULL);
}

/*
 * How long accept waits before the worker looks at its signals again.
 * The stop signals stay blocked all the time, in accept too: libfcgi waits
 * for a new unix connection to become readable right after accepting it,
 * and a signal landing in that wait made it drop the connection (nginx
 * answered 502 during a reload). So accept gives up every ACCEPT_TICK_MS
 * instead, and pending signals are delivered after it and after each
 * request. The tick also drains the database's change notifications
 * (one non-blocking read), so an idle worker never holds back the
 * server's notification queue.
 */
#define ACCEPT_TICK_MS	250

/*
 * How often a busy worker looks at its pending signals: one system call
 * per request was a seventh of the syscalls of a cached answer, and a
 * stop or reload waits these few milliseconds at most.
 */
#define SIGNAL_CHECK_MS	5

long long
fcgi_run(struct service *svc, int listen_fd, long long max_requests,
    volatile sig_atomic_t *stop, const sigset_t *hold)
{
	FCGX_Request		 r;
	struct http_resp	 resp;
	struct buf		 out;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct timeval		 tick = { 0, ACCEPT_TICK_MS * 1000 };
	static const struct timeval none = { 0, 0 };
	long long		 served = 0;
	int64_t			 looked = 0, now;
	bool			 inherits;
	int			 rc, fl;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, listen_fd, 0) != 0) {
		log_msg(LOG_LVL_ERROR, "cannot initialise libfcgi");
		return -1;
	}
	if (setsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tick,
	    sizeof(tick)) != 0)
		log_msg(LOG_LVL_WARN, "cannot set an accept timeout: a stop "
		    "signal waits for the next request");
	/* TCP connections inherit the timeout from the listening socket. */
	inherits = getsockname(listen_fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ss.ss_family != AF_UNIX;
	service_share(svc, listen_fd);
	http_resp_init(&resp);
	buf_init(&out);
	sigprocmask(SIG_BLOCK, hold, NULL);
	while (!*stop && (max_requests == 0 || served < max_requests)) {
		rc = FCGX_Accept_r(&r);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR) {
			/* Idle: keep the change notifications flowing. */
			service_idle(svc);
			deliver(hold);
			continue;
		}
		if (rc < 0)
			break;
		if (inherits)
			(void)setsockopt(r.ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none,
			    sizeof(none));
		serve_one(svc, &r, &resp, &out);
		served++;
		if ((now = clock_mono_ms()) - looked >= SIGNAL_CHECK_MS) {
			looked = now;
			deliver(hold);
		}
	}
	/*
	 * A master shutting down makes the socket non-blocking once no new
	 * connection can arrive: connections already waiting in the backlog
	 * are answered, not reset, and accept then fails with EAGAIN.
	 */
	if (*stop && (fl = fcntl(listen_fd, F_GETFL)) >= 0 &&
	    (fl & O_NONBLOCK) != 0)
		while (FCGX_Accept_r(&r) >= 0) {
			if (inherits)
				(void)setsockopt(r.ipcFd, SOL_SOCKET,
				    SO_RCVTIMEO, &none, sizeof(none));
			serve_one(svc, &r, &resp, &out);
			served++;
		}
	sigprocmask(SIG_UNBLOCK, hold, NULL);
	buf_free(&out);
	http_resp_free(&resp);
	FCGX_Free(&r, 1);
	return served;
}
