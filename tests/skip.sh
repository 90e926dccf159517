# tests/skip.sh: sourced by the test runners (tests/run-e2e, tests/run-clients,
# tests/browser/run-browser, tests/browser/run-cors, tests/unit/no-check): the
# binary under test, and skips. A suite whose component is
# missing is skipped with the reason: exit 77, which automake counts as SKIP. With
# CI=true in the environment (.ci/run sets it: CI installs everything, so nothing
# may be skipped there) the same suite fails instead: exit 1.
#
#   skip_suite NAME REASON...   print "NAME: SKIP: REASON", exit 77 (1 under CI=true)
#   find_pg_bindir              the PostgreSQL server binaries the local stack will use
#                               ($PG_BIN, else the newest /usr/lib/postgresql/*/bin,
#                               else initdb's directory on PATH); empty if none
#   find_coursegen_bin NAME ROOT
#                               export COURSEGEN_BIN, the service binary under test

skip_suite() {
	_skip_name=$1
	shift
	echo "$_skip_name: SKIP: $*" >&2
	if [ "${CI:-}" = true ]; then
		echo "$_skip_name: FAIL: CI=true, where every suite must run" >&2
		exit 1
	fi
	exit 77
}

find_pg_bindir() {
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return
	fi
	_skip_d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$_skip_d" ] && [ -x "$_skip_d/initdb" ]; then
		echo "$_skip_d"
	elif command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

# The components of the real stack every end-to-end suite starts (scripts/localstack.py):
# PostgreSQL's server and psql, nginx. Skips the suite NAME when one is missing.
need_stack() {
	command -v python3 >/dev/null 2>&1 || skip_suite "$1" "python3 not found (Debian: python3)"
	_skip_pg=$(find_pg_bindir)
	{ [ -n "$_skip_pg" ] && [ -x "$_skip_pg/postgres" ] && [ -x "$_skip_pg/initdb" ]; } ||
		skip_suite "$1" "PostgreSQL server binaries not found (Debian: postgresql; or set PG_BIN)"
	command -v psql >/dev/null 2>&1 ||
		skip_suite "$1" "psql not found (Debian: postgresql-client)"
	command -v nginx >/dev/null 2>&1 ||
		skip_suite "$1" "nginx not found (Debian: nginx-light or nginx)"
}

# The service binary the runner NAME tests, exported as an absolute COURSEGEN_BIN:
# $COURSEGEN_BIN, else ./src/coursegen-status in the current (build) directory (make
# check in a VPATH build), else ROOT/src/coursegen-status (the sources). Not an
# executable file: a failure (exit 1), never a skip: the suite cannot test nothing.
find_coursegen_bin() {
	if [ -z "${COURSEGEN_BIN:-}" ]; then
		if [ -x "$PWD/src/coursegen-status" ]; then
			COURSEGEN_BIN="$PWD/src/coursegen-status"
		else
			COURSEGEN_BIN="$2/src/coursegen-status"
		fi
	fi
	case $COURSEGEN_BIN in
	/*) ;;
	*) COURSEGEN_BIN="$PWD/$COURSEGEN_BIN" ;;
	esac
	if [ ! -x "$COURSEGEN_BIN" ]; then
		echo "$1: service binary $COURSEGEN_BIN not found (run make, or set COURSEGEN_BIN)" >&2
		exit 1
	fi
	export COURSEGEN_BIN
}
