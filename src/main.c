/*
 * main.c - coursegen-status: answers the tRPC query generation.getStatus.
 * Three ways to run, chosen at start-up: a standalone pool with its own
 * master (--listen), one FastCGI process on the socket in fd 0 (spawn-fcgi,
 * mod_fcgid), or one plain CGI request.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgi.h"
#include "fcgi.h"
#include "intparse.h"
#include "log.h"
#include "master.h"
#include "service.h"
#include "settings.h"

/*
 * Exit statuses, as coursegen-status(8) documents them (EXIT STATUS) and
 * operators' scripts and the tests read them. Not <sysexits.h>'s: 64 for
 * a usage error and 78 for a configuration error would change a documented
 * interface for no operator's gain, and --check-config's 0/1/2 follows
 * nginx -t and apachectl configtest, which operators compare it to.
 */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,	/* socket, database, privileges, memory */
	EXIT_USAGE = 2		/* command line or settings; nothing to serve */
};

enum mode {
	MODE_AUTO,	/* fd 0 a socket: FastCGI there; else CGI */
	MODE_POOL,	/* --listen: master and workers */
	MODE_FD0,	/* --fcgi */
	MODE_CGI	/* --cgi */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: coursegen-status [-c FILE] [--listen ADDR [--workers N]]\n"
	    "                        [--fcgi | --cgi] [--check-config]\n"
	    "       coursegen-status --help | --version\n"
	    "\n"
	    "Answers the tRPC query generation.getStatus.\n"
	    "\n"
	    "  -c FILE         read settings from FILE (NAME=value lines; or name\n"
	    "                  it in COURSEGEN_CONFIG); the environment wins\n"
	    "  --listen ADDR   bind ADDR (unix:/path or host:port) and run a\n"
	    "                  master with a pool of workers (or set LISTEN)\n"
	    "  --workers N     pool size (or set WORKERS; default 2)\n"
	    "  --fcgi          serve FastCGI on the socket in fd 0, in this\n"
	    "                  process (spawn-fcgi, mod_fcgid)\n"
	    "  --cgi           answer one CGI request from the environment\n"
	    "  --check-config  check what the start would refuse (settings file,\n"
	    "                  users, groups, directories), connect to the database\n"
	    "                  and prepare the status query, then exit\n"
	    "\n"
	    "Without a mode: the pool when LISTEN is set, FastCGI when fd 0 is a\n"
	    "listening socket, CGI when a web server set REQUEST_METHOD; else an\n"
	    "error. Settings: DATABASE_URL and a JWT key (JWT_SECRET,\n"
	    "JWT_SECRET_FILE, JWT_PUBLIC_KEYS or JWT_JWKS_FILE) are required; see\n"
	    "coursegen-status(8) or the README for the rest and the signals.\n");
}

/*
 * --check-config: what the real start would refuse (the settings were
 * read already: unknown names, malformed lines, bad values), then the
 * database. 0 when all is well, 2 for the settings, 1 for the database.
 */
static int
check_config(const struct settings *set, const char *file)
{
	struct service	 svc;
	char		 err[512];
	int		 rc;

	(void)settings_file_exposed(file);
	if (master_check(set, err, sizeof(err)) != 0) {
		fprintf(stderr, "coursegen-status: configuration: %s\n", err);
		return EXIT_USAGE;
	}
	if (service_init(&svc, set) != 0) {
		fprintf(stderr, "coursegen-status: out of memory\n");
		return EXIT_RUNTIME;
	}
	rc = service_check(&svc, err, sizeof(err));
	service_free(&svc);
	if (rc != 0) {
		fprintf(stderr, "coursegen-status: database: %s\n", err);
		return EXIT_RUNTIME;
	}
	printf("configuration ok: database reachable, status query "
	    "prepared\n");
	return EXIT_OK;
}

/* The long options without a short form. */
enum {
	OPT_VERSION = 256,
	OPT_CHECK,
	OPT_FCGI,
	OPT_CGI,
	OPT_LISTEN,
	OPT_WORKERS
};

static const struct option longopts[] = {
	{ "help",		no_argument,		NULL,	'h' },
	{ "version",		no_argument,		NULL,	OPT_VERSION },
	{ "check-config",	no_argument,		NULL,	OPT_CHECK },
	{ "fcgi",		no_argument,		NULL,	OPT_FCGI },
	{ "cgi",		no_argument,		NULL,	OPT_CGI },
	{ "listen",		required_argument,	NULL,	OPT_LISTEN },
	{ "workers",		required_argument,	NULL,	OPT_WORKERS },
	{ NULL,			0,			NULL,	0 }
};

int
main(int argc, char *argv[])
{
	struct settings	*set;
	struct master_overrides ov = { NULL, 0 };
	const char	*file = NULL, *listen_arg = NULL, *workers_arg = NULL;
	enum mode	 mode = MODE_AUTO;
	char		 err[512];
	bool		 check = false;
	long long	 n;
	int		 opt, rc;

	/* Before anything keeps a pointer into argv or the environment. */
	argv = master_proctitle_init(argc, argv);
	while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("%s\n", PACKAGE_STRING);
			return EXIT_OK;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_FCGI:
			mode = MODE_FD0;
			break;
		case OPT_CGI:
			mode = MODE_CGI;
			break;
		case 'c':
			file = optarg;
			break;
		case OPT_LISTEN:
			listen_arg = optarg;
			mode = MODE_POOL;
			break;
		case OPT_WORKERS:
			workers_arg = optarg;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* mod_fcgid and CGI pass no arguments: the file can be named in the
	 * environment instead. */
	if (file == NULL && (file = getenv("COURSEGEN_CONFIG")) != NULL &&
	    *file == '\0')
		file = NULL;
	/* A peer that goes away must not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return EXIT_RUNTIME;
	if (settings_load(set, file, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_ERROR, "configuration: %s", err);
		settings_free(set);
		free(set);
		return EXIT_USAGE;
	}
	if (workers_arg != NULL && !parse_int_range(workers_arg, 1, 1024, &n)) {
		log_msg(LOG_LVL_ERROR, "--workers must be from 1 to 1024");
		settings_free(set);
		free(set);
		return EXIT_USAGE;
	}
	if (workers_arg != NULL)
		set->workers = ov.workers = n;
	if (listen_arg != NULL) {
		ov.listen = listen_arg;
		free(set->listen);
		if ((set->listen = strdup(listen_arg)) == NULL)
			return EXIT_RUNTIME;
	}
	if (mode == MODE_AUTO && set->listen != NULL && !fcgi_on_socket())
		mode = MODE_POOL;
	log_set_level(set->log_level);
	if (set->log_syslog)
		(void)log_use_syslog();
	if (mode == MODE_AUTO && fcgi_on_socket())
		mode = MODE_FD0;

	/* The pool opens LOG_FILE itself, once it knows its workers' user. */
	if (!check && mode != MODE_POOL && set->log_file != NULL &&
	    log_open_file(set->log_file, -1) != 0) {
		log_msg(LOG_LVL_ERROR, "LOG_FILE %s: %s", set->log_file,
		    strerror(errno));
		rc = EXIT_RUNTIME;
	} else if (check)
		rc = check_config(set, file);
	else if (mode == MODE_POOL)
		return master_run(set, file, &ov);	/* takes set */
	else if (mode == MODE_FD0) {
		(void)settings_file_exposed(file);
		rc = worker_run_fd0(set);
	} else if (getenv("REQUEST_METHOD") == NULL) {
		/* Neither a socket nor a web server's CGI request: a service
		 * manager started us without LISTEN. That must fail. */
		log_msg(LOG_LVL_ERROR, "nothing to serve: no LISTEN (or "
		    "--listen) for a pool, no FastCGI socket on fd 0 and no CGI "
		    "request (REQUEST_METHOD is not set)");
		rc = EXIT_USAGE;
	} else {
		struct service svc;

		/* One request per process: nothing to cache, nothing to LISTEN
		 * for. */
		set->cache_entries = 0;
		if (service_init(&svc, set) != 0)
			rc = EXIT_RUNTIME;
		else {
			rc = cgi_run(&svc) == 0 ? EXIT_OK : EXIT_RUNTIME;
			service_free(&svc);
		}
	}
	settings_free(set);
	free(set);
	return rc;
}
