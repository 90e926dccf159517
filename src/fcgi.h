/* fcgi.h - serving FastCGI on the socket in fd 0 (libfcgi behind it). */
#ifndef CS_FCGI_H
#define CS_FCGI_H

#include <stdbool.h>

struct service;

/* True when fd 0 is a listening socket (spawn-fcgi, mod_fcgid). */
bool	 fcgi_on_socket(void);
/*
 * Accept and answer requests on fd 0 until accept fails or *stop becomes
 * non-zero (checked between requests). Returns 0, or -1 on a setup error.
 */
int	 fcgi_run(struct service *, volatile const int *stop);

#endif
