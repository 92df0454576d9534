#!/usr/bin/env bash
# Runs the benchmarks of `make bench` and prints their figures.
# usage: tests/bench/run.sh BUILD_DIR     (BUILD_DIR holds bench-bin/, from `make bench`)
#
# Generates the 100,000-line flow into BUILD_DIR/bench-data/, then runs the
# compiler and VM benchmarks pinned to one core (taskset -c 0) when taskset is
# available. Every figure comes from this one run; nothing is asserted on
# timings: a target line says `MISSED` instead of failing.
set -eu
build=${1:-build/bench}
here=$(cd "$(dirname "$0")" && pwd)
data="$build/bench-data"
mkdir -p "$data"

flow="$data/bench-100k.flow"
python3 "$here/gen_flow.py" 100000 "$flow"

pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
  pin=(taskset -c 0)
fi

echo
echo "== flowc benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), ${pin[*]:-not pinned})"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu" ] && echo "   cpu: $cpu, $(nproc) cores online, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
${pin[@]+"${pin[@]}"} "$build/bench-bin/bench_compile" "$flow" 5
echo
${pin[@]+"${pin[@]}"} "$build/bench-bin/bench_vm"
echo
widget="$here/../../runtime/web/widget.js"
if [ -f "$widget" ]; then
  raw=$(wc -c <"$widget") gz=$(gzip -9c "$widget" | wc -c)
  verdict=ok; [ "$gz" -lt 25600 ] || verdict=MISSED
  echo "== widget: runtime/web/widget.js $raw bytes, $gz bytes gzipped (-9); target < 25 KB gzipped: $verdict"
fi
echo
"$here/server.sh" "$build"
echo
echo "(figures from this run only; MISSED marks a target not met, it does not fail the build)"
