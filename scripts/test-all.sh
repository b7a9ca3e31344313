#!/usr/bin/env bash
# `npm test`: every runner (build, lint, unit, e2e + golden, Python), each even when an earlier one
# failed, so one failing runner never hides the others; exits non-zero at the end if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
run() {
  local name=$1; shift
  echo "== ${name}: $*"
  "$@" || failed+=("${name}")
}
run build npm run build --silent
run lint npm run lint --silent
run unit npm run test:unit --silent
run e2e npx jest --config jest.e2e.config.js
run python npm run test:python --silent
if ((${#failed[@]} > 0)); then
  echo "== runners failed: ${failed[*]}"
  exit 1
fi
echo "== all runners passed: build, lint, unit, e2e, python"
