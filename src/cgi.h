/* cgi.h - plain CGI: one request from the environment and stdin. */
#ifndef CS_CGI_H
#define CS_CGI_H

struct service;

/* Answer the one request described by the environment on stdout.
 * Returns 0, or -1 when stdout failed. */
int	 cgi_run(struct service *);

#endif
