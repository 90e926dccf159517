# tests/fuzz/local.mk - included from Makefile.am; owned by the tests/fuzz work.
#
# libFuzzer targets, built with clang by their own rules (the project's objects
# are built by $(CC) without coverage instrumentation):
#   make fuzz            build every target and run each for FUZZ_SECONDS (default 60)
#                        over its committed seed corpus tests/fuzz/corpus/<target>/
#   make fuzz-build      build only
#   make fuzz-clean      remove the binaries and the work corpora
#   make fuzz-minimise   merge the work corpus into a minimal committed corpus
# Needs clang and the fuzzer runtime (Debian: clang, libclang-rt-14-dev) and the
# OpenSSL headers for fuzz_auth's signer (libssl-dev).
# Variables: FUZZ_SECONDS, FUZZ_TARGETS, FUZZ_CC, FUZZ_FLAGS (extra libFuzzer
# flags, e.g. -dict=... or -only_ascii=1).
#
# The soak and valgrind targets live in tests/soak/local.mk.

FUZZ_TARGETS = fuzz_trpc fuzz_json fuzz_meta fuzz_auth fuzz_notice
FUZZ_SECONDS = 60
FUZZ_CC = clang
FUZZ_FLAGS =
FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -std=gnu11 $(FUZZ_SAN) \
	-I$(top_builddir) -I$(top_srcdir)/src -I$(top_srcdir)/tests/fuzz \
	-DFUZZ_KEYS_DIR='"$(abs_top_srcdir)/tests/unit/keys"' $(JSONC_CFLAGS) $(JWT_CFLAGS)
FUZZ_LIBS = $(JSONC_LIBS) $(JWT_LIBS) -lcrypto -lm
FUZZ_BIN = tests/fuzz/bin
FUZZ_WORK = tests/fuzz/work

# The project sources each target links (all pure: no database, no I/O).
FUZZ_SRC_COMMON = src/buf.c src/json.c src/uuid.c src/query.c src/isotime.c \
	src/b64url.c src/acceptlang.c src/intparse.c
fuzz_trpc_SRCS = $(FUZZ_SRC_COMMON) src/trpc.c src/http.c src/input.c
fuzz_json_SRCS = $(FUZZ_SRC_COMMON) src/input.c
fuzz_meta_SRCS = $(FUZZ_SRC_COMMON) src/meta.c src/genstate.c src/render.c
fuzz_auth_SRCS = $(FUZZ_SRC_COMMON) src/auth.c src/keys.c src/siphash.c
fuzz_notice_SRCS = $(FUZZ_SRC_COMMON) src/cache.c

FUZZ_DIST = tests/fuzz/fuzz_common.h tests/fuzz/fuzz_trpc.c tests/fuzz/fuzz_json.c \
	tests/fuzz/fuzz_meta.c tests/fuzz/fuzz_auth.c tests/fuzz/fuzz_notice.c \
	tests/fuzz/README
# (the corpus and findings/ go file by file: dist-files.mk, scripts/gen-dist-list)
EXTRA_DIST += $(FUZZ_DIST)

FUZZ_HDRS = $(top_srcdir)/tests/fuzz/fuzz_common.h $(top_srcdir)/src/*.h config.h

$(FUZZ_BIN)/fuzz_trpc: $(top_srcdir)/tests/fuzz/fuzz_trpc.c $(fuzz_trpc_SRCS:%=$(top_srcdir)/%) $(FUZZ_HDRS)
	@$(MKDIR_P) $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(top_srcdir)/tests/fuzz/fuzz_trpc.c $(fuzz_trpc_SRCS:%=$(top_srcdir)/%) $(FUZZ_LIBS)
$(FUZZ_BIN)/fuzz_json: $(top_srcdir)/tests/fuzz/fuzz_json.c $(fuzz_json_SRCS:%=$(top_srcdir)/%) $(FUZZ_HDRS)
	@$(MKDIR_P) $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(top_srcdir)/tests/fuzz/fuzz_json.c $(fuzz_json_SRCS:%=$(top_srcdir)/%) $(FUZZ_LIBS)
$(FUZZ_BIN)/fuzz_meta: $(top_srcdir)/tests/fuzz/fuzz_meta.c $(fuzz_meta_SRCS:%=$(top_srcdir)/%) $(FUZZ_HDRS)
	@$(MKDIR_P) $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(top_srcdir)/tests/fuzz/fuzz_meta.c $(fuzz_meta_SRCS:%=$(top_srcdir)/%) $(FUZZ_LIBS)
$(FUZZ_BIN)/fuzz_auth: $(top_srcdir)/tests/fuzz/fuzz_auth.c $(fuzz_auth_SRCS:%=$(top_srcdir)/%) $(FUZZ_HDRS)
	@$(MKDIR_P) $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(top_srcdir)/tests/fuzz/fuzz_auth.c $(fuzz_auth_SRCS:%=$(top_srcdir)/%) $(FUZZ_LIBS)
$(FUZZ_BIN)/fuzz_notice: $(top_srcdir)/tests/fuzz/fuzz_notice.c $(fuzz_notice_SRCS:%=$(top_srcdir)/%) $(FUZZ_HDRS)
	@$(MKDIR_P) $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(top_srcdir)/tests/fuzz/fuzz_notice.c $(fuzz_notice_SRCS:%=$(top_srcdir)/%) $(FUZZ_LIBS)

.PHONY: fuzz fuzz-build fuzz-clean fuzz-minimise
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BIN)/%)

# Each target runs for FUZZ_SECONDS; new inputs go to the work corpus (the
# committed corpus is only read, so this works in a read-only source tree).
# A crash leaves tests/fuzz/work/<target>/crash-* and fails the target.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  $(MKDIR_P) $(FUZZ_WORK)/$$t $(FUZZ_WORK)/$$t.artifacts; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BIN)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_WORK)/$$t.artifacts/ $(FUZZ_FLAGS) \
	    $(FUZZ_WORK)/$$t $(top_srcdir)/tests/fuzz/corpus/$$t \
	    > $(FUZZ_WORK)/$$t.log 2>&1 || { tail -n 60 $(FUZZ_WORK)/$$t.log; \
	      echo "fuzz: $$t FAILED (log $(FUZZ_WORK)/$$t.log, inputs in $(FUZZ_WORK)/$$t.artifacts/)"; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' $(FUZZ_WORK)/$$t.log | tr '\n' ' '; echo; \
	  echo "fuzz: $$t ok"; \
	done

# Merge what the runs found into a minimal set and write it back as the
# committed corpus (run in a writable source tree, then review the diff).
fuzz-minimise: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ_WORK)/$$t.min; $(MKDIR_P) $(FUZZ_WORK)/$$t.min; \
	  $(FUZZ_BIN)/$$t -merge=1 -max_len=16384 $(FUZZ_WORK)/$$t.min \
	    $(top_srcdir)/tests/fuzz/corpus/$$t $(FUZZ_WORK)/$$t > /dev/null 2>&1; \
	  rm -rf $(top_srcdir)/tests/fuzz/corpus/$$t; \
	  cp -r $(FUZZ_WORK)/$$t.min $(top_srcdir)/tests/fuzz/corpus/$$t; \
	  echo "fuzz-minimise: $$t: `ls $(top_srcdir)/tests/fuzz/corpus/$$t | wc -l` files"; \
	done

fuzz-clean:
	rm -rf $(FUZZ_BIN) $(FUZZ_WORK)

include $(srcdir)/tests/soak/local.mk
