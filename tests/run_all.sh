#!/usr/bin/env bash
# Runs every test suite of the project and ends with one line
# `N passed, N failed` summing them all. Each suite is a command whose last
# line is `N passed, N failed` (cmocka binaries are read from their summary).
# usage: tests/run_all.sh BUILD_DIR SHARED_DIR
set -u
build=${1:-build}
shared=${2:-../shared}
here=$(cd "$(dirname "$0")" && pwd)
total_pass=0; total_fail=0; broken=()

count() { # NAME COMMAND...: runs a suite and adds its closing counts
  local name=$1; shift
  local out rc last p f
  echo "== $name"
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | tail -n 25
  last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$last" ]; then
    echo "!! $name printed no 'N passed, N failed' line (exit $rc)"
    total_fail=$((total_fail + 1)); broken+=("$name"); return
  fi
  p=${last%% passed*}; f=${last#*, }; f=${f%% failed*}
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then broken+=("$name"); [ "$f" -eq 0 ] && total_fail=$((total_fail + 1)); fi
}

cmocka() { # BINARY: a cmocka test binary, summarised as `N passed, N failed`
  local out rc p f
  out=$("$1" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E 'FAILED|ERROR' | head -20
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  echo "${p:-0} passed, ${f:-0} failed"
  [ "$rc" -eq 0 ]
}

for t in "$build"/tests/test_*; do
  [ -x "$t" ] && count "unit $(basename "$t")" cmocka "$t"
done
for suite in "$here"/suites/*.sh; do
  [ -x "$suite" ] && count "$(basename "$suite" .sh)" "$suite" "$build" "$shared"
done

echo
[ ${#broken[@]} -gt 0 ] && echo "failing suites: ${broken[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
