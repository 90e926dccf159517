# tests/clients/local.mk - included from Makefile.am; owned by the tests/clients work.
#
# The real tRPC clients (@trpc/client 11 and 10, with and without superjson) against
# the running service, in `make check`: tests/run-clients copies the npm project
# tests/clients (pinned by its package-lock.json) to tests/clients/work in the build
# directory, installs it there with `npm ci` (kept until `make clean`), and runs
# tests/clients/driver.py, which starts the stacks and `node --test`.
# Needs Node.js >= 20.10 with npm.

TESTS += tests/run-clients

EXTRA_DIST += tests/run-clients \
	tests/clients/driver.py \
	tests/clients/package.json \
	tests/clients/package-lock.json \
	tests/clients/.npmrc \
	tests/clients/.gitignore \
	tests/clients/v10/package.json \
	tests/clients/v10/index.mjs \
	tests/clients/lib/common.mjs \
	tests/clients/lib/schema.mjs \
	tests/clients/test/links.test.mjs \
	tests/clients/test/polling.test.mjs \
	tests/clients/test/schema.test.mjs \
	tests/clients/test/split.test.mjs

clean-local: clean-clients-work
clean-clients-work:
	rm -rf tests/clients/work
.PHONY: clean-clients-work
