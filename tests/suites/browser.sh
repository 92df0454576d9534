#!/usr/bin/env bash
# Browser tests (tests/browser/*.test.mjs): the widget, the inbox and the
# admin pages in Debian's Chromium driven by playwright-core. Each script
# starts its own flowd on a free loopback port. Screenshots land under
# build/screenshots/. Ends with one line `N passed, N failed`.
# usage: tests/suites/browser.sh BUILD_DIR SHARED_DIR
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")/../browser" && pwd)
runtime=$(cd "$(dirname "$0")/../runtime" && pwd)
flowd=$(realpath "$build/flowd" 2>/dev/null)
if [ ! -x "$flowd" ]; then echo "no flowd at $build/flowd (run make first)"; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -x /usr/bin/chromium ]; then echo "no /usr/bin/chromium (scripts/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1; fi
for d in "$runtime" "$here"; do
  if [ ! -d "$d/node_modules" ]; then
    if ! out=$(cd "$d" && npm ci --no-audit --no-fund --loglevel=error 2>&1); then
      printf '%s\n' "$out" | tail -n 5; echo "npm ci failed in $d"; echo "0 passed, 1 failed"; exit 1
    fi
  fi
done

p=0; f=0
for t in "$here"/*.test.mjs; do
  [ -e "$t" ] || continue
  echo "-- $(basename "$t")"
  out=$(cd "$here" && FLOWD="$flowd" timeout 300 node "$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$last" ]; then echo "!! $(basename "$t") printed no counts (exit $rc)"; f=$((f + 1)); continue; fi
  p=$((p + ${last%% passed*})); x=${last#*, }; f=$((f + ${x%% failed*}))
  [ "$rc" -eq 0 ] || [ "${x%% failed*}" -ne 0 ] || { echo "!! $(basename "$t") exited $rc"; f=$((f + 1)); }
done
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
