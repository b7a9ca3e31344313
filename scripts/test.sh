#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine with Node 20, in one command: installs what is
# missing (scripts/setup.sh: Debian packages incl. chromium for the browser e2e tests, npm packages,
# the build), then `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
