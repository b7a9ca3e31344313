#!/usr/bin/env bash
# Installs what is missing on a fresh Debian 12 machine with Node 20 (as root, or with sudo for apt):
# the Debian packages the PyTorch trainer, its plots, the browser e2e tests and better-sqlite3's build need, the npm packages, the
# build. Quick when everything is there already. The service alone needs only `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_packages=()
if ! /usr/bin/python3 -c 'import torch, onnx' >/dev/null 2>&1; then apt_packages+=(python3-torch python3-onnx); fi
# python3-matplotlib: `leader evaluate --plots` (PR curves, reliability diagram, learning and training curves).
if ! /usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1; then apt_packages+=(python3-matplotlib); fi
# libopenblas0-pthread: without it Debian's torch falls back to the reference BLAS (30x slower matmul).
if ! ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then apt_packages+=(libopenblas0-pthread); fi
# chromium: the SMART launch e2e tests drive Debian's browser through playwright-core (never a downloaded one).
if [ ! -x /usr/bin/chromium ]; then apt_packages+=(chromium); fi
if ! command -v curl >/dev/null 2>&1; then apt_packages+=(curl); fi
# better-sqlite3 (the FHIR Subscriptions queue) compiles its native module at `npm ci` when no prebuilt one can be fetched.
if ! command -v make >/dev/null 2>&1; then apt_packages+=(make); fi
if ! command -v g++ >/dev/null 2>&1; then apt_packages+=(g++); fi
if ! command -v python3 >/dev/null 2>&1; then apt_packages+=(python3); fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: apt-get install ${apt_packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}"
fi
# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The `leader` CLI and the service run from dist/ (npm start and npm test rebuild it too).
npm run build --silent
echo "setup: done (Debian packages, node_modules, dist/)"
