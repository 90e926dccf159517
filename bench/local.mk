# bench/local.mk - included from Makefile.am; owned by the bench work.
#
# `make bench` builds the transport-ceiling responder and runs bench/bench.py
# (see its --help; BENCH_ARGS passes options, e.g. BENCH_ARGS='--conns 8,64,256'
# or '--courses 1000000'). `make bench-profile` is the callgrind profile of one
# request, `make bench-replica` the standby/failover check. None of this is part
# of `make all` or `make check`; bench/fixed-responder is built only for `make bench`.

EXTRA_PROGRAMS = bench/fixed-responder
bench_fixed_responder_SOURCES = bench/fixed-responder.c
bench_fixed_responder_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS)
bench_fixed_responder_LDADD = $(FCGI_LIBS) $(PQ_LIBS)

BENCH_ARGS =

bench: bench/fixed-responder src/coursegen-status
	$(PYTHON3) $(srcdir)/bench/bench.py $(BENCH_ARGS)

bench-replica: src/coursegen-status
	$(PYTHON3) $(srcdir)/bench/replica.py

bench-profile: src/coursegen-status
	$(PYTHON3) $(srcdir)/bench/profile.py $(PROFILE_ARGS)

.PHONY: bench bench-profile bench-replica

EXTRA_DIST += bench/bench.py bench/profile.py bench/replica.py bench/pairs.lua bench/gen-data.sql \
	bench/fixed-responder.c bench/RESULTS.md \
	bench/peers/trpc-node/package.json bench/peers/trpc-node/package-lock.json \
	bench/peers/trpc-node/server.js

# `make bench-notify`: what the change-notification triggers of sql/006-notify.sql
# cost the writers (worker API calls/s and bulk UPDATEs/s with and without them).
bench-notify:
	$(PYTHON3) $(srcdir)/bench/notify_cost.py $(NOTIFY_ARGS)

.PHONY: bench-notify
EXTRA_DIST += bench/notify_cost.py
