/* fcgi.h - serving FastCGI on a listening socket (libfcgi behind it). */
#ifndef CS_FCGI_H
#define CS_FCGI_H

#include <signal.h>
#include <stdbool.h>

struct service;

/* True when fd 0 is a listening socket (spawn-fcgi, mod_fcgid). */
bool	 fcgi_on_socket(void);
/*
 * Accept and answer requests on listen_fd until *stop is set (by a
 * signal handler), until max_requests have been answered (0: no limit), or
 * until accept fails. The signals in `hold` stay blocked and are delivered
 * between requests and every 250 ms while idle (accept times out), so a
 * stop never cuts off a request or a connection just accepted; after a
 * stop, connections still waiting are answered too when the master has
 * made the socket non-blocking. Returns the number of requests answered, or -1 on a setup
 * error.
 */
long long fcgi_run(struct service *, int listen_fd, long long max_requests,
	    volatile sig_atomic_t *stop, const sigset_t *hold);

#endif
