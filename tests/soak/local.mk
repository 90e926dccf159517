# tests/soak/local.mk - included from tests/fuzz/local.mk; owned by the tests/fuzz work.
#
#   make soak       steady mixed load against the real stack for SOAK_SECONDS (default
#                   180): requests served, errors by kind, each worker's RSS at start and
#                   end; fails on any unexpected answer, a worker lost, or RSS growth past
#                   SOAK_MAX_RSS_GROWTH_KB after the warm-up. Figures: tests/soak/last-soak.md
#   make valgrind   the same load, VALGRIND_REQUESTS (default 10000) requests, with the
#                   workers under valgrind --leak-check=full; fails on any valgrind error
#                   or definitely/indirectly lost bytes. Figures: tests/soak/last-valgrind.md
# Both are bounded in time and count, and send traffic to 127.0.0.1 only. Neither is part
# of `make check`. Needs valgrind (Debian package valgrind) for the second.

SOAK_SECONDS = 180
SOAK_THREADS = 4
SOAK_WORKERS = 2
SOAK_MAX_RSS_GROWTH_KB = 2048
VALGRIND_REQUESTS = 10000
SOAK_ENV = COURSEGEN_BIN='$(abs_top_builddir)/src/coursegen-status' PYTHONDONTWRITEBYTECODE=1

EXTRA_DIST += tests/soak/soak.py tests/soak/RESULTS.md

.PHONY: soak valgrind
soak: src/coursegen-status
	@$(MKDIR_P) tests/soak
	$(SOAK_ENV) $(PYTHON3) $(top_srcdir)/tests/soak/soak.py --seconds $(SOAK_SECONDS) \
	  --threads $(SOAK_THREADS) --workers $(SOAK_WORKERS) \
	  --max-rss-growth-kb $(SOAK_MAX_RSS_GROWTH_KB) --markdown tests/soak/last-soak.md

valgrind: src/coursegen-status
	@$(MKDIR_P) tests/soak
	$(SOAK_ENV) $(PYTHON3) $(top_srcdir)/tests/soak/soak.py --valgrind \
	  --requests $(VALGRIND_REQUESTS) --threads $(SOAK_THREADS) --workers $(SOAK_WORKERS) \
	  --markdown tests/soak/last-valgrind.md
