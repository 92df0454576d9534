#!/usr/bin/env bash
# Black-box tests of flowd over HTTP and WebSocket (tests/runtime/): every
# conformance transcript replayed over the wire (replay.mjs), the protocol
# and the agent API (server.mjs), accounts, access rules and the inbox
# (inbox.mjs), SIGKILL under load and restart (crash.mjs).
# Each starts its own flowd on a free loopback port with temporary folders.
# Ends with one line `N passed, N failed` summing the three scripts.
# usage: tests/suites/runtime.sh BUILD_DIR SHARED_DIR
set -u
build=${1:-build}; shared=${2:-../shared}
here=$(cd "$(dirname "$0")/../runtime" && pwd)
flowd=$(realpath "$build/flowd" 2>/dev/null)
if [ ! -x "$flowd" ]; then echo "no flowd at $build/flowd (run make first)"; echo "0 passed, 1 failed"; exit 1; fi
if ! command -v node >/dev/null; then echo "node is not installed: the runtime tests need Node 20"; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -d "$here/node_modules/ws" ]; then
  if ! out=$(cd "$here" && npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    printf '%s\n' "$out" | tail -n 5; echo "npm ci failed in $here"; echo "0 passed, 1 failed"; exit 1
  fi
fi

p=0; f=0
run() { # SCRIPT ARGS...: runs one script and adds its closing counts
  local out rc last
  echo "-- $1"
  out=$(cd "$here" && timeout 300 node "$@" 2>&1); rc=$?
  printf '%s\n' "$out"
  last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$last" ]; then echo "!! $1 printed no counts (exit $rc)"; f=$((f + 1)); return; fi
  p=$((p + ${last%% passed*})); local x=${last#*, }; f=$((f + ${x%% failed*}))
  [ "$rc" -eq 0 ] || [ "${x%% failed*}" -ne 0 ] || { echo "!! $1 exited $rc"; f=$((f + 1)); }
}

if [ -d "$shared/conformance" ]; then run replay.mjs "$flowd" "$(realpath "$shared")"
else echo "-- replay.mjs: skipped (no conformance suite at $shared/conformance)"; fi
run server.mjs "$flowd"
run inbox.mjs "$flowd"
run stats.mjs "$flowd"
run webhooks.mjs "$flowd"
run crash.mjs "$flowd"
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
