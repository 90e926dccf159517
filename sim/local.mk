# sim/local.mk - included from Makefile.am; owned by the sim work.
#
# coursegen-simulate: the simulated generation worker (libpq, and the pure
# helpers of src/libcoursegen.a). It drives courses through the worker API of
# sql/004-worker-api.sql; ./run uses it for the live demo,
# tests/e2e/test_90_simulation.py and the browser test as the worker.
# Built by `make` (./run and the tests use it from the build tree), never installed:
# it is a test tool that writes to the database as the worker role.
noinst_PROGRAMS = sim/coursegen-simulate
sim_coursegen_simulate_SOURCES = sim/simulate.c
sim_coursegen_simulate_CPPFLAGS = $(AM_CPPFLAGS) $(PQ_CFLAGS)
# It links the project library for its UUID check, integer parsing and clock.
sim_coursegen_simulate_LDADD = src/libcoursegen.a $(PQ_LIBS) -lm

# The progress page in headless Chromium (Debian: chromium, chromium-driver), ~20 s.
TESTS += tests/browser/run-browser

EXTRA_DIST += sim/watch.py web tests/browser/run-browser \
	tests/browser/test_progress_page.py tests/browser/webdriver.py \
	docs/progress-page.png

# Screenshots of the browser test (written in the build tree).
clean-local: clean-browser-shots
clean-browser-shots:
	rm -rf tests/browser/screenshots
.PHONY: clean-browser-shots
