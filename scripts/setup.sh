#!/usr/bin/env bash
# One-time setup on a fresh Debian 12 machine (run as root or with sudo): the Debian packages the
# PyTorch trainer needs, then the npm dependencies. The service alone needs only `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import torch, onnx, matplotlib' >/dev/null 2>&1 || ! ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then
  apt-get update -qq
  # libopenblas0-pthread: without it Debian's torch falls back to the reference BLAS (30x slower matmul).
  # python3-matplotlib: `leader evaluate --plots` (PR curves, reliability diagram, learning and training curves).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx python3-matplotlib libopenblas0-pthread
fi
npm ci --no-audit --no-fund
# The `leader` CLI and the service run from dist/ (npm start and npm test rebuild it too).
npm run build --silent
