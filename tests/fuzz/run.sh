#!/usr/bin/env bash
# Runs the libFuzzer targets one after another (never in parallel), each for
# SECONDS, and ends with one line `N passed, N failed` (one per target;
# passed = no crash, hang, leak or out-of-memory found, and every regression
# input still runs clean).
#
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#   BUILD_DIR  where `make fuzz` built: targets in BUILD_DIR/fuzz/, and
#              BUILD_DIR/flowc (else build/flowc) to compile seed bytecode
#   TARGET     fuzz_compile, fuzz_load, fuzz_state, fuzz_rt_api (default: all built)
# env: SHARED (default ../shared) for the conformance files; FUZZ_ARGS,
#      extra libFuzzer options for every target.
#
# Under BUILD_DIR: corpus/TARGET/ (seeds, then what the fuzzer keeps: it grows
# from run to run), artifacts/ (crash-*, timeout-*, leak-*, oom-* inputs),
# logs/TARGET.log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
build=${1:-build/fuzz}
secs=${2:-60}
shift $(($# < 2 ? $# : 2))
shared=$(cd "${SHARED:-$root/../shared}" 2>/dev/null && pwd) || shared=${SHARED:-$root/../shared}
bindir=$build/fuzz
flowc=$build/flowc
[ -x "$flowc" ] || flowc=build/flowc
mkdir -p "$build/corpus" "$build/artifacts" "$build/logs"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for b in "$bindir"/fuzz_*; do
    [ -x "$b" ] && [ -f "$b" ] && targets+=("$(basename "$b")")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $bindir (run 'make fuzz')"
  echo "0 passed, 1 failed"
  exit 1
fi

# ---- seed corpora ---------------------------------------------------------

flows=()
while IFS= read -r f; do flows+=("$f"); done < <(
  find examples tests "$shared/conformance" -path tests/fuzz -prune -o -name '*.flow' -type f -print 2>/dev/null | sort)

seed_name() { # PATH -> a flat file name
  local n=${1#"$root"/}
  n=${n#"$shared"/}
  printf 'seed-%s' "${n//\//_}"
}

seed_compile() {
  local dir=$build/corpus/fuzz_compile f
  mkdir -p "$dir"
  for f in "${flows[@]}"; do cp "$f" "$dir/$(seed_name "$f")"; done
}

# Driver bytes of fuzz_load's 0xFF layout (see fuzz_load.c): a scene byte,
# then steps (b & 7 = kind: 0 text, 1 click, 2 taken, 3 timeout, 4 typed
# label, 5 restart, 6 damaged saved state, 7 long text; b >> 3 = argument).
load_drivers=(
  '\x01\x01\x09\x00\x02'             # Monday, 1 agent: click 0, click 1, "hello", taken
  '\x05\x04\x20\x30\x03\x05\x11'     # visitor set: typed label, email, number, timeout, restart, click 2
  '\x08\x01\x03\x2f\x10\x02\x0c\x01' # Saturday, nobody: click 0, timeout, long text, "human", taken, label 1, click 0
  '\x01\x06\x01\x0e\x16\x09\x86\xfe' # damaged saved states between clicks
)

seed_load() {
  local dir=$build/corpus/fuzz_load f out d i
  mkdir -p "$dir"
  if [ ! -x "$flowc" ]; then
    echo "warning: no flowc at $build/flowc or build/flowc: fuzz_load gets no bytecode seeds"
    return
  fi
  for f in "${flows[@]}"; do
    out="$dir/$(seed_name "$f").fbc"
    "$flowc" build "$f" -o "$out" >/dev/null 2>&1 || { rm -f "$out"; continue; }
    i=0
    for d in "${load_drivers[@]}"; do
      # shellcheck disable=SC2059 # the drivers are printf escapes
      { printf '\xff'; printf "\\x$(printf '%02x' $(($(printf "$d" | wc -c))))"; printf "$d"; cat "$out"; } \
        >"$out.fix$i"
      i=$((i + 1))
    done
  done
}

seed_state() {
  local dir=$build/corpus/fuzz_state
  mkdir -p "$dir"
  FLOW_FUZZ_STATE_SEEDS=$dir "$bindir/fuzz_state" -runs=0 >"$build/logs/fuzz_state.seeds.log" 2>&1 ||
    echo "warning: fuzz_state could not write its seed states (see $build/logs/fuzz_state.seeds.log)"
}

# fuzz_rt_api: the first byte picks the entry point (see fuzz_rt_api.c).
seed_rt_api() {
  local dir=$build/corpus/fuzz_rt_api
  mkdir -p "$dir"
  printf '\x00{"name":"shop","flow":"fuzz","primary":"#ff0000","pages":["/a/*"],"quota":5}' >"$dir/seed-create"
  printf '\x01{"offset":10,"align":"left","website":"https://x.y","identity_secret":"regenerate"}' >"$dir/seed-put"
  printf '\x02{"url":"http://127.0.0.1:9/x","events":["lead.created"],"secret":"s"}' >"$dir/seed-webhook"
  printf '\x03demo\n2026-11-01\n2026-11-30\ncsv' >"$dir/seed-stats"
  printf '\x04/shop/item?x=1#top' >"$dir/seed-page"
  printf '\x05[[[{"a":"\\u00e9"}]]]' >"$dir/seed-json"
}

# ---- running --------------------------------------------------------------

max_len() {
  case $1 in
  fuzz_compile) echo 65536 ;;
  fuzz_load) echo 65536 ;;
  fuzz_state) echo 4096 ;;
  *) echo 65536 ;;
  esac
}

stat() { # LOG NAME
  sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

pass=0; fail=0; summary=()
for t in "${targets[@]}"; do
  bin=$bindir/$t
  corpus=$build/corpus/$t
  log=$build/logs/$t.log
  echo "== $t"
  if [ ! -x "$bin" ]; then
    echo "missing $bin"
    fail=$((fail + 1)); summary+=("$t: FAILED (not built)"); continue
  fi
  case $t in
  fuzz_compile) seed_compile ;;
  fuzz_load) seed_load ;;
  fuzz_state) seed_state ;;
  fuzz_rt_api) seed_rt_api ;;
  esac
  mkdir -p "$corpus"
  # Regression inputs: each must run clean on its own, and joins the corpus.
  regress_ok=1
  regdir=$here/regressions/$t
  if [ -d "$regdir" ] && [ -n "$(ls -A "$regdir")" ]; then
    if ! "$bin" -runs=1 "$regdir"/* >"$build/logs/$t.regressions.log" 2>&1; then
      regress_ok=0
      echo "regression inputs crash again: see $build/logs/$t.regressions.log"
      grep -E 'Running:|FUZZ INVARIANT|^SUMMARY' "$build/logs/$t.regressions.log" | tail -n 5
    fi
    # (one longer than -max_len would be cut short there: it is only run here)
    for f in "$regdir"/*; do
      [ "$(wc -c <"$f")" -le "$(max_len "$t")" ] && cp "$f" "$corpus/regress-$(basename "$f")"
    done
  fi
  dict=()
  [ "$t" = fuzz_compile ] && dict=(-dict="$here/flow.dict")
  marker=$(mktemp)
  start=$(date +%s)
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
  "$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} \
    "$corpus" >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  found=$(find "$build/artifacts" -newer "$marker" -name "$t-*" -type f | sort)
  rm -f "$marker"
  runs=$(stat "$log" number_of_executed_units)
  eps=$(stat "$log" average_exec_per_sec)
  rss=$(stat "$log" peak_rss_mb)
  files=$(find "$corpus" -type f | wc -l)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1)
  line="$t: ${took}s, ${runs:-?} runs, ${eps:-?} exec/s, ${corp:-corp: ?} in use ($files files), ${cov:-cov ?}, peak ${rss:-?} MB"
  if [ "$rc" -eq 0 ] && [ -z "$found" ] && [ "$regress_ok" -eq 1 ]; then
    pass=$((pass + 1)); summary+=("passed  $line")
  else
    fail=$((fail + 1)); summary+=("FAILED  $line (exit $rc)")
    grep -E 'FUZZ INVARIANT|^==[0-9]+==ERROR|^SUMMARY|ERROR: libFuzzer' "$log" | head -n 5
    for a in $found; do echo "   artifact: $a"; done
  fi
  tail -n 3 "$log" | grep -v '^stat::'
done

echo
echo "fuzzing summary ($secs s per target, logs in $build/logs):"
for s in "${summary[@]}"; do echo "  $s"; done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
