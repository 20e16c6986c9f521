#!/usr/bin/env bash
# Runs the LAN interop tests as CI does: install the pinned JS packages,
# then run the Go tests with MS_INTEROP_REQUIRED=1 so that a missing node
# or a failed install fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
cd ../..
MS_INTEROP_REQUIRED=1 go test -race -count=1 -timeout 120s ./interop/lan/
