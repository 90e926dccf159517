# tests/browser/cors/local.mk - included from Makefile.am: the cross-origin page test.
#
# tests/browser/run-cors installs the npm project tests/browser/cors (the real
# @trpc/client 11 and esbuild, pinned by its package-lock.json) into
# tests/browser/cors-work in the build directory with `npm ci`, bundles the client,
# serves the page from two origins and drives headless Chromium against the service
# behind nginx with CORS_ORIGINS set (tests/browser/test_cors_page.py).

TESTS += tests/browser/run-cors

EXTRA_DIST += tests/browser/run-cors \
	tests/browser/test_cors_page.py \
	tests/browser/cors/package.json \
	tests/browser/cors/package-lock.json \
	tests/browser/cors/.npmrc \
	tests/browser/cors/.gitignore \
	tests/browser/cors/entry.mjs \
	tests/browser/cors/index.html \
	tests/browser/cors/page.js

clean-local: clean-cors-work
clean-cors-work:
	rm -rf tests/browser/cors-work
.PHONY: clean-cors-work
