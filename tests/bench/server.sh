#!/usr/bin/env bash
# The server benchmarks of `make bench`: flowd against a bare civetweb
# WebSocket echo server (the floor), both driven by the epoll load client.
# usage: tests/bench/server.sh BUILD_DIR   (BUILD_DIR holds flowd and bench-bin/
#                                           echo_server and ws_load, from `make bench`)
#
# For 100, 1,000 and 10,000 concurrent conversations (one WebSocket each) it
# starts a fresh server (flowd: an empty data folder, tests/bench/loop.flow,
# --max-visitors 10500 --http-threads 32; echo_server: the same 10,532
# civetweb threads), opens the connections (ws_load ramps them up), then on
# the same connections runs
#   - a closed loop (each conversation clicks again as soon as the `buttons`
#     frame of the previous click arrived) -> replies/second, persistence on;
#   - fixed offered loads of 1,000 and 10,000 messages/second spread evenly
#     over the conversations (open loop) -> p50/p99/max latency, send to reply
#     (only where it stays under flowd's 20 frames/s per socket);
# and reads flowd's VmRSS before and after the conversations started.
# Servers run one at a time (at most ~10,540 threads); everything is
# loopback; SERVER_BENCH_SECS (default 4) is the measured length of each
# phase, after a 1 s warm-up. Nothing is asserted on timings: a target
# line says MISSED instead of failing; the exit status is 1 only when a
# server cannot be started or a run breaks (connections lost or refused).
set -u
build=${1:-build/bench}
here=$(cd "$(dirname "$0")" && pwd)
secs=${SERVER_BENCH_SECS:-4}
load="$build/bench-bin/ws_load"
echo_bin="$build/bench-bin/echo_server"
flowd="$build/flowd"
for f in "$load" "$echo_bin" "$flowd"; do
  [ -x "$f" ] || { echo "server.sh: $f is missing (run make bench)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/flowd-bench.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/flows"
cp "$here/loop.flow" "$work/flows/loop.flow"

# start_server NAME COMMAND...: runs it in the background and sets $server_pid
# and $port from the first line it prints (at most 60 s).
start_server() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  port=
  for _ in $(seq 600); do
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p; s/.*listening on port \([0-9][0-9]*\).*/\1/p' \
           "$work/$name.out" | head -n 1)
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server.sh: $name did not start:" >&2
  tail -n 5 "$work/$name.err" >&2
  return 1
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=
}

# get FILE KIND KEY: the value of KEY= on the line of FILE that starts with KIND.
get() { awk -v k="$3" -v kind="$2" '$1 == kind { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1" | head -n 1; }
# get_open FILE RATE KEY: the same for the open-loop line of that offered rate.
get_open() { awk -v k="$3" -v r="offered=$2" '$1 == "open" && $3 == r { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1" | head -n 1; }

failed=0
sizes=(100 1000 10000)
rates=(1000 10000)
# run_one NAME N: one server, one ws_load run of every phase for N conversations.
run_one() {
  local name=$1 n=$2 opens=() r
  for r in "${rates[@]}"; do
    (( r <= 20 * n )) && opens+=(--open "$r:$secs") # flowd refuses more than 20 frames/s per socket
  done
  local common=(--port "$port" --conns "$n" --pid "$server_pid" --closed "$secs" "${opens[@]}" --timeout 240)
  if [ "$name" = echo ]; then
    "$load" "${common[@]}" --echo >"$work/$name-$n.txt" 2>"$work/$name-$n.log"
  else
    "$load" "${common[@]}" --channel loop --visitor-prefix "v$n-" >"$work/$name-$n.txt" 2>"$work/$name-$n.log"
  fi
  local rc=$?
  if [ $rc -ne 0 ]; then
    failed=1
    echo "   ! $name with $n conversations: ws_load exit $rc" >&2
    head -n 5 "$work/$name-$n.log" | sed 's/^/     /' >&2
  fi
}

echo
echo "== flowd server benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), not pinned)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "   cpu: ${cpu:-?}, $(nproc) cores online, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   flow: tests/bench/loop.flow (a click -> visitor message, bot text, buttons and VM state committed -> ack, message, buttons)"
echo "   phases: ${secs} s measured after 1 s warm-up; flowd store synchronous=NORMAL (WAL, group commit)"
# How busy the cores already are (other processes), over one second.
read -r _ u1 n1 s1 i1 w1 q1 r1 t1 _ </proc/stat; sleep 1; read -r _ u2 n2 s2 i2 w2 q2 r2 t2 _ </proc/stat
busy=$(( (u2 + n2 + s2 + q2 + r2 + t2) - (u1 + n1 + s1 + q1 + r1 + t1) )) idle=$(( (i2 + w2) - (i1 + w1) ))
echo "   cores busy before the run (other processes): $(( 100 * busy / (busy + idle > 0 ? busy + idle : 1) ))%"

t_start=$(date +%s)
for n in "${sizes[@]}"; do
  start_server "flowd-$n" "$flowd" --port 0 --data "$work/data-$n" --flows "$work/flows" \
    --max-visitors 10500 --http-threads 32 || exit 1
  run_one flowd "$n"
  stop_server
  rm -rf "$work/data-$n"
  start_server "echo-$n" "$echo_bin" --port 0 --threads 10532 || exit 1
  run_one echo "$n"
  stop_server
done

# fmt N: N with thousands separators ("-" when empty)
fmt() { awk -v v="$1" 'BEGIN { if (v == "") { print "-"; exit } s = sprintf("%d", v); o = "";
  while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }

echo
echo "   closed loop (replies/second; server CPU time per reply; flowd's resident memory per conversation)"
printf '   %-14s %-7s %-16s %-16s %-7s %-20s %s\n' conversations held "flowd replies/s" "echo replies/s" ratio \
  "CPU/reply flowd|echo" "flowd RSS/conversation"
for n in "${sizes[@]}"; do
  f="$work/flowd-$n.txt" e="$work/echo-$n.txt"
  fr=$(get "$f" closed rate) er=$(get "$e" closed rate) held=$(get "$f" held alive)
  ratio=$(awk -v a="$fr" -v b="$er" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }')
  capped=$(get "$f" closed capped)
  note=""
  [ -n "$capped" ] && [ "$capped" != 0 ] && note=" (flowd at its 20 frames/s/socket cap: ${n}x20/1.05 s)"
  printf '   %-14s %-7s %-16s %-16s %-7s %-20s %s KB%s\n' "$(fmt "$n")" "${held:--}" "$(fmt "$fr")" "$(fmt "$er")" \
    "$ratio" "$(get "$f" closed server_cpu_us) | $(get "$e" closed server_cpu_us) us" \
    "$(get "$f" ready rss_per_conn_kb)" "$note"
done
echo
echo "   fixed offered load (open loop), latency from send to reply"
printf '   %-10s %-14s %-30s %-30s %s\n' offered conversations "flowd p50 / p99 / max ms" "echo p50 / p99 / max ms" \
  "CPU/reply flowd|echo"
for n in "${sizes[@]}"; do
  for r in "${rates[@]}"; do
    (( r <= 20 * n )) || continue
    f="$work/flowd-$n.txt" e="$work/echo-$n.txt"
    printf '   %-10s %-14s %-30s %-30s %s\n' "$(fmt "$r")/s" "$(fmt "$n")" \
      "$(get_open "$f" "$r" p50_ms) / $(get_open "$f" "$r" p99_ms) / $(get_open "$f" "$r" max_ms)" \
      "$(get_open "$e" "$r" p50_ms) / $(get_open "$e" "$r" p99_ms) / $(get_open "$e" "$r" max_ms)" \
      "$(get_open "$f" "$r" server_cpu_us) | $(get_open "$e" "$r" server_cpu_us) us"
  done
done

# Statistics cost: the same closed loop over 1,000 conversations against
# flowd with its daily counters off and on (the loop flow enters a node on
# every click, so every reply also bumps a funnel counter), alternated
# twice to even out drift.
stats_n=1000
for round in 1 2; do
  for mode in off on; do
    start_server "stats-$mode" "$flowd" --port 0 --data "$work/data-stats-$mode" --flows "$work/flows" \
      --max-visitors 10500 --http-threads 32 --stats="$mode" || exit 1
    "$load" --port "$port" --conns "$stats_n" --pid "$server_pid" --closed "$secs" --timeout 120 --channel loop \
      --visitor-prefix "s$round$mode-" >"$work/stats-$mode-$round.txt" 2>"$work/stats-$mode-$round.log" || failed=1
    stop_server
    rm -rf "$work/data-stats-$mode"
  done
done
echo
echo "   statistics on and off (closed loop, $(fmt $stats_n) conversations, two alternating rounds)"
for mode in off on; do
  a=$(get "$work/stats-$mode-1.txt" closed rate) b=$(get "$work/stats-$mode-2.txt" closed rate)
  printf '   stats %-4s replies/s: %s and %s (mean %s); CPU/reply %s and %s us\n' "$mode" "$(fmt "$a")" "$(fmt "$b")" \
    "$(fmt "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%d", (a + b) / 2 }')")" \
    "$(get "$work/stats-$mode-1.txt" closed server_cpu_us)" "$(get "$work/stats-$mode-2.txt" closed server_cpu_us)"
done
son=$(awk -v a="$(get "$work/stats-on-1.txt" closed rate)" -v b="$(get "$work/stats-on-2.txt" closed rate)" 'BEGIN { print a + b }')
soff=$(awk -v a="$(get "$work/stats-off-1.txt" closed rate)" -v b="$(get "$work/stats-off-2.txt" closed rate)" 'BEGIN { print a + b }')
echo "   ratio on/off: $(awk -v a="$son" -v b="$soff" 'BEGIN { if (b == 0) print "-"; else printf "%.3f", a / b }')"

# targets (from the issue)
big=10000
held=$(get "$work/flowd-$big.txt" held alive)
ratio=$(awk -v a="$(get "$work/flowd-$big.txt" closed rate)" -v b="$(get "$work/echo-$big.txt" closed rate)" \
  'BEGIN { if (a == "" || b == "" || b == 0) print 0; else printf "%.2f", a / b }')
p99=$(get_open "$work/flowd-$big.txt" 10000 p99_ms)
mkdir -p "$build/bench-data"
for f in "$work"/flowd-*.txt "$work"/echo-*.txt; do cp "$f" "$build/bench-data/server-$(basename "$f")"; done
verdict() { if [ "$1" = 1 ]; then echo ok; else echo MISSED; fi; }
echo
echo "   target: 10,000 concurrent conversations held: ${held:-0} $(verdict "$([ "${held:-0}" -ge $big ] && echo 1)")"
echo "   target: durable throughput >= 1/2 of the bare echo at 10,000 conversations: ratio $ratio $(verdict "$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5) }')")"
echo "   target: p99 < 3 ms at 10,000 msg/s over 10,000 conversations: ${p99:-?} ms $(verdict "$(awk -v p="${p99:-1e9}" 'BEGIN { print (p < 3) }')")"
echo "   (server benchmarks took $(( $(date +%s) - t_start )) s; load average now $(cut -d' ' -f1-3 /proc/loadavg);"
echo "    the load client shares the cores, so latencies include its scheduling: see lag_* in ws_load's output)"
exit $failed
