# clients/typescript/local.mk - included from Makefile.am; owned by the TypeScript
# client work.
#
# @coursegen/status-client (clients/typescript): AppRouter types, zod schemas, the
# useGenerationStatus hook and the GenerationProgress component. In `make check`,
# clients/typescript/run-tests installs the package (npm ci from its
# package-lock.json) into clients/typescript/work in the build directory (kept until
# `make clean`), builds it with tsc, type-checks the sample front end, parses every
# answer of a recorded e2e run with the package's schemas and runs the hook and the
# component in headless Chromium against the real stack. Node.js >= 20.10 with npm.

TESTS += clients/typescript/run-tests

EXTRA_DIST += clients/typescript/run-tests \
	clients/typescript/package.json \
	clients/typescript/package-lock.json \
	clients/typescript/.npmrc \
	clients/typescript/.gitignore \
	clients/typescript/tsconfig.json \
	clients/typescript/src/index.ts \
	clients/typescript/src/schema.ts \
	clients/typescript/src/router.ts \
	clients/typescript/src/react/index.ts \
	clients/typescript/src/react/trpc.ts \
	clients/typescript/src/react/useGenerationStatus.ts \
	clients/typescript/src/react/GenerationProgress.tsx \
	clients/typescript/examples/platform-router.ts \
	clients/typescript/examples/split-link.tsx \
	clients/typescript/test/driver.py \
	clients/typescript/test/record_e2e.py \
	clients/typescript/test/test_react.py \
	clients/typescript/test/check-answers.mjs \
	clients/typescript/test/frontend/tsconfig.json \
	clients/typescript/test/frontend/index.html \
	clients/typescript/test/frontend/src/app.tsx \
	clients/typescript/test/frontend/src/types.ts \
	clients/typescript/test/frontend/src/usage.tsx

clean-local: clean-ts-client-work
clean-ts-client-work:
	rm -rf clients/typescript/work
.PHONY: clean-ts-client-work
