/*
 * main.c - coursegen-status: answers the tRPC query generation.getStatus.
 * FastCGI when fd 0 is a listening socket (spawn-fcgi, mod_fcgid), plain
 * CGI otherwise.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgi.h"
#include "fcgi.h"
#include "log.h"
#include "service.h"
#include "settings.h"

static volatile sig_atomic_t stop_flag;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: coursegen-status [--check-config | --help | --version]\n"
	    "\n"
	    "Answers the tRPC query generation.getStatus. Started with a\n"
	    "listening socket on fd 0 (spawn-fcgi, mod_fcgid) it serves\n"
	    "FastCGI; otherwise it answers one CGI request and exits.\n"
	    "\n"
	    "  --check-config  validate the settings, connect to the database\n"
	    "                  and prepare the status query, then exit\n"
	    "  --help          this text\n"
	    "  --version       the version\n"
	    "\n"
	    "Settings come from the environment: DATABASE_URL and JWT_SECRET\n"
	    "(or JWT_SECRET_FILE) are required; see the README for the rest.\n");
}

int
main(int argc, char *argv[])
{
	struct settings	 set;
	struct service	 svc;
	char		 err[512];
	bool		 check = false;
	int		 rc;

	if (argc > 2) {
		usage(stderr);
		return 2;
	}
	if (argc == 2) {
		if (strcmp(argv[1], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[1], "--version") == 0) {
			printf("%s\n", PACKAGE_STRING);
			return 0;
		} else if (strcmp(argv[1], "--check-config") == 0)
			check = true;
		else {
			usage(stderr);
			return 2;
		}
	}
	/* A peer that goes away must not kill the worker. */
	signal(SIGPIPE, SIG_IGN);

	if (settings_load(&set, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_ERROR, "configuration: %s", err);
		settings_free(&set);
		return 2;
	}
	log_set_level(set.log_level);
	if (set.log_syslog)
		log_use_syslog();
	if (service_init(&svc, &set) != 0) {
		log_msg(LOG_LVL_ERROR, "out of memory");
		settings_free(&set);
		return 1;
	}
	if (check) {
		rc = service_check(&svc, err, sizeof(err));
		if (rc == 0)
			printf("configuration ok: database reachable, status "
			    "query prepared\n");
		else
			fprintf(stderr, "coursegen-status: database: %s\n", err);
		service_free(&svc);
		settings_free(&set);
		return rc == 0 ? 0 : 1;
	}
	if (fcgi_on_socket())
		rc = fcgi_run(&svc, (volatile const int *)&stop_flag);
	else if (getenv("REQUEST_METHOD") == NULL && isatty(STDIN_FILENO)) {
		fprintf(stderr, "coursegen-status: no FastCGI socket on fd 0 "
		    "and no CGI request in the environment\n");
		usage(stderr);
		rc = 2;
	} else
		rc = cgi_run(&svc);
	service_free(&svc);
	settings_free(&set);
	return rc == 0 ? 0 : 1;
}
