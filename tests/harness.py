"""harness: the old name of scripts/localstack.py (the local stack), kept as an alias
for bench/, which still imports `harness` and `mint_token` from tests/. Importing it
puts scripts/ on sys.path and makes `harness` the very module `localstack` (setting an
attribute here sets it there). New code imports localstack; delete this file once
bench/ does."""

import os
import sys

_SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "scripts")
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

import localstack  # noqa: E402

sys.modules[__name__] = localstack
