/* check_settings.c - the settings file: systemd EnvironmentFile quoting,
 * malformed lines and unknown names refused with their line number. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"

#define SUITE_NAME "settings"
#include "check_main.h"

#define HEAD "DATABASE_URL=postgresql:///x\nJWT_SECRET=0123456789abcdef0123\n"

/* Write HEAD + body to a temporary file and load it. */
static int
load_text(struct settings *s, const char *body, char *err, size_t errlen,
    char *path)
{
	FILE	*f;
	int	 fd, rc;

	strcpy(path, "/tmp/check_settings.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(HEAD, f);
	fputs(body, f);
	fclose(f);
	rc = settings_load(s, path, err, errlen);
	unlink(path);
	return rc;
}

static const char *const cleared[] = {
	"DATABASE_URL", "JWT_SECRET", "JWT_SECRET_FILE", "JWT_PUBLIC_KEYS",
	"JWT_JWKS_FILE", "JWT_AUDIENCE", "JWT_ISSUER", "WORKERS", "LOG_LEVEL",
};

static void
clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++)
		unsetenv(cleared[i]);
}

/* Values: the line after HEAD, and what JWT_AUDIENCE reads as. */
static const struct {
	const char	*body;
	const char	*want;
} values[] = {
	{ "JWT_AUDIENCE=plain\n", "plain" },
	{ "JWT_AUDIENCE = spaced  \n", "spaced" },
	{ "JWT_AUDIENCE=\"quoted\"\n", "quoted" },
	{ "JWT_AUDIENCE='single'\n", "single" },
	{ "JWT_AUDIENCE=\"a \\\"b\\\" \\\\ \\$c \\n\"\n", "a \"b\" \\ $c \\n" },
	{ "JWT_AUDIENCE='a \\\"b'\n", "a \\\"b" },
	{ "JWT_AUDIENCE=\"  inner  \"  \n", "  inner  " },
	{ "JWT_AUDIENCE=a#b\n", "a#b" },
	{ "JWT_AUDIENCE=a\\ b\\\\c\n", "a b\\c" },
	{ "JWT_AUDIENCE=one\\\ntwo\n", "onetwo" },
	{ "JWT_AUDIENCE=\"multi\nline\"\n", "multi\nline" },
	{ "JWT_AUDIENCE=x\"y\"\n", "x\"y\"" },
	{ "# comment\n; comment\n\n  JWT_AUDIENCE=after\n", "after" },
	{ "JWT_AUDIENCE=first\nJWT_AUDIENCE=second\n", "second" },
	{ "JWT_AUDIENCE=crlf\r\n", "crlf" },
};

START_TEST(test_values)
{
	struct settings	 s;
	char		 err[512], path[64];

	clear_env();
	if (load_text(&s, values[_i].body, err, sizeof(err), path) != 0)
		ck_abort_msg("%s: %s", values[_i].body, err);
	ck_assert_ptr_nonnull(s.jwt_audience);
	ck_assert_str_eq(s.jwt_audience, values[_i].want);
	settings_free(&s);
}
END_TEST

/* Refused files: the line after HEAD (line 3) and the message. */
static const struct {
	const char	*body;
	const char	*why;
} refused[] = {
	{ "export LOG_LEVEL=debug\n", ":3: \"export\" is not allowed" },
	{ "WORKRES=4\n", ":3: unknown setting WORKRES" },
	{ "\n\nLOG_LEVELS=info\n", ":5: unknown setting LOG_LEVELS" },
	{ "this line is wrong\n", ":3: expected NAME=value" },
	{ "=x\n", ":3: expected NAME=value" },
	{ "1X=y\n", ":3: expected NAME=value" },
	{ "JWT_AUDIENCE=\"open\n", ":3: no closing \"" },
	{ "JWT_AUDIENCE='open\n", ":3: no closing '" },
	{ "JWT_AUDIENCE=\"a\" b\n", ":3: text after the closing \"" },
	{ "COURSEGEN_CONFIG=/x\n", ":3: unknown setting COURSEGEN_CONFIG" },
	{ "LOG_FILE=relative.log\n", "LOG_FILE must be an absolute path" },
	{ "JWT_SECRET=\"CHANGE-ME-TO-THE-PROJECT-JWT-SECRET\"\n",
	    "still the example's placeholder" },
};

START_TEST(test_refused)
{
	struct settings	 s;
	char		 err[512], path[64];

	clear_env();
	ck_assert_int_eq(load_text(&s, refused[_i].body, err, sizeof(err),
	    path), -1);
	if (strstr(err, refused[_i].why) == NULL)
		ck_abort_msg("%s: got \"%s\", want \"%s\"", refused[_i].body,
		    err, refused[_i].why);
	settings_free(&s);
}
END_TEST

/* Every setting of the README's table is known in the file. */
START_TEST(test_known)
{
	struct settings	 s;
	char		 err[512], path[64];

	clear_env();
	if (load_text(&s, "JWT_LEEWAY=1\nTOKEN_CACHE=1\nTRPC_BASE=/t\n"
	    "TRPC_TRANSFORMER=none\nCACHE_TTL_MS=1\nMAX_BATCH=2\nMAX_BODY=300\n"
	    "MAX_QUERY=300\nDB_CONNECT_TIMEOUT=2\nDB_STATEMENT_TIMEOUT_MS=5\n"
	    "DB_PREPARE=0\nMETRICS_PATH=off\nHEALTH_PATH=off\nLOG_LEVEL=warn\n"
	    "LOG_TARGET=stderr\nACCESS_LOG=1\nLISTEN=unix:/x\nWORKERS=3\n"
	    "MAX_REQUESTS=9\nLISTEN_BACKLOG=9\nLISTEN_MODE=0600\n"
	    "LISTEN_GROUP=g\nRUN_AS_USER=u\nRUN_AS_GROUP=g\n"
	    "SHUTDOWN_TIMEOUT=3\nPID_FILE=/run/x.pid\nLOG_FILE=/var/log/x\n"
	    "STATUS_PATH=/s\nJWT_AUDIENCE=a\nJWT_ISSUER=i\n"
	    "JWT_SECRET_FILE=\n", err, sizeof(err), path) != 0)
		ck_abort_msg("%s", err);
	ck_assert(s.workers_given);
	ck_assert_int_eq(s.workers, 3);
	ck_assert_int_eq(s.listen_mode, 0600);
	ck_assert_str_eq(s.pid_file, "/run/x.pid");
	settings_free(&s);
	ck_assert_int_eq(load_text(&s, "", err, sizeof(err), path), 0);
	ck_assert(!s.workers_given);
	ck_assert_str_eq(s.status_path, "/status");
	settings_free(&s);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_values, 0, N(values));
	tcase_add_loop_test(tc, test_refused, 0, N(refused));
	tcase_add_test(tc, test_known);
}
