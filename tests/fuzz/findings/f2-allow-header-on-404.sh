#!/bin/sh
# Finding F2 (src/trpc.c, minor): a PUT/DELETE/OPTIONS to an unknown procedure is answered
# 404 NOT_FOUND (fine) but carries "Allow: GET, POST", a header that belongs to 405 only
# (RFC 9110 15.5.6; tRPC itself sends no Allow at all). Expected: no Allow header on the 404.
# Run from the repository root after `make`. Exit 0 = fixed, 1 = reproduced.
out=$(env -i DATABASE_URL='postgresql://127.0.0.1:1/x?connect_timeout=1' \
	JWT_SECRET=0123456789abcdef0123 REQUEST_METHOD=PUT SCRIPT_NAME=/trpc/nope \
	QUERY_STRING= ./src/coursegen-status)
printf '%s\n' "$out" | head -n 3
printf '%s\n' "$out" | grep -q '^Status: 404' || { echo "unexpected status"; exit 2; }
printf '%s\n' "$out" | grep -qi '^Allow:' && exit 1
exit 0
