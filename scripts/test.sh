#!/usr/bin/env bash
# Set up the dev environment and run the test suite. Arguments go to pytest, e.g.
#   bash scripts/test.sh tests/test_browser.py -x
# The browser test needs Debian's chromium at /usr/bin/chromium, the sandbox tests bubblewrap:
# installed here when running as root with apt-get, otherwise those tests skip with their reason.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --dev

if [[ (! -x /usr/bin/chromium || ! -x /usr/bin/bwrap) && "$(id -u)" == 0 ]] \
    && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing Debian's chromium and bubblewrap for the browser and sandbox tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null
    apt-get install -y -qq --no-install-recommends chromium fonts-liberation bubblewrap \
        </dev/null >/dev/null
fi

# -ra: list the reason of every skip/failure at the end; no cache dir left in the work tree.
exec .venv/bin/python -m pytest -q -ra -p no:cacheprovider "$@"
