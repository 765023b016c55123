#!/usr/bin/env bash
# Browser tests of the dashboard: ./tests/dashboard/run.sh path/to/guildflow
set -euo pipefail
BIN="${1:?usage: tests/dashboard/run.sh GUILDFLOW_BINARY}"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  apt-get install -y chromium
fi
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
mkdir -p screenshots
export GUILDFLOW_BIN="$BIN"
exec node --test --test-concurrency=1 --test-timeout=600000 replay.test.mjs demo.test.mjs
