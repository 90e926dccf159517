#!/usr/bin/env python3
"""driver.py: the package's run-time tests, called by clients/typescript/run-tests
after the type checks.

    python3 driver.py --work DIR [--only answers|browser]

answers  the end-to-end suite's modules named in $CLIENT_E2E_MODULES (default
         below) run in this process with every HTTP answer recorded
         (record_e2e.py), plus the same kinds of answers from a superjson stack
         (the suite has none); then `node test/check-answers.mjs` parses each one with the
         package's strict zod schemas, from DIR's built dist/.
browser  test_react.py: the hook and the component in headless Chromium against
         the real stack, the bundle in DIR/web.

Exit 0 only if both ran every test and every test passed (a skip is a failure).
"""

import argparse
import io
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The modules whose answers cover every status, phase and error the service gives
# (the contract's examples, the domain's cases, access, the protocol, tokens,
# limits, the simulated worker); about 30 s.
DEFAULT_MODULES = ("test_10_examples test_20_domain test_30_access test_40_protocol "
                   "test_50_jwt test_60_limits test_90_simulation")


def answers(work):
    from record_e2e import record
    modules = (os.environ.get("CLIENT_E2E_MODULES") or DEFAULT_MODULES).split()
    t = time.monotonic()
    log = io.StringIO()
    ok, result, recorded = record(modules, log)
    print("driver: %d e2e tests of %d modules, %d answers recorded in %.1f s" % (
        result.testsRun, len(modules), len(recorded), time.monotonic() - t), flush=True)
    if not ok:
        print(log.getvalue(), file=sys.stderr)
        print("driver: FAIL: the recorded e2e modules did not all pass", file=sys.stderr)
        return False
    from record_e2e import record_superjson
    t = time.monotonic()
    sj = record_superjson()
    print("driver: %d answers of a TRPC_TRANSFORMER=superjson stack in %.1f s" % (
        len(sj), time.monotonic() - t), flush=True)
    recorded += sj
    path = os.path.join(work, "answers.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(recorded, f, ensure_ascii=False)
    rc = subprocess.call(["node", os.path.join(work, "test", "check-answers.mjs"), path],
                         cwd=work)
    return rc == 0


def browser(work):
    os.environ["CLIENT_WEB_DIR"] = os.path.join(work, "web")
    os.environ.setdefault("CLIENT_SHOTS", os.path.join(work, "screenshots"))
    import test_react
    suite = unittest.TestLoader().loadTestsFromModule(test_react)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    return (result.wasSuccessful() and result.testsRun > 0 and not result.skipped
            and not result.expectedFailures and not result.unexpectedSuccesses)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", choices=["answers", "browser"])
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    ok = True
    if args.only in (None, "answers"):
        ok = answers(work) and ok
    if args.only in (None, "browser"):
        ok = browser(work) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
