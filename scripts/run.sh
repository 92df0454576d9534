#!/usr/bin/env bash
# `make run`: starts flowd on an embedded SQLite file with the example flows,
# a demo channel, and a demo page; prints the URLs. Ctrl-C stops it cleanly.
set -eu
build=${1:-build}
port=${PORT:-8080}
run=$build/run
mkdir -p "$run/flows" "$run/data"
rm -f "$run"/flows/*.flow
for f in examples/*/*.flow; do ln -sf "$(realpath "$f")" "$run/flows/"; done
token=${FLOWD_AGENT_TOKEN:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}
cat <<MSG

  Demo page (chat with the demo bot):  http://127.0.0.1:$port/
  Health:                              http://127.0.0.1:$port/healthz
  Metrics:                             http://127.0.0.1:$port/metrics
  Agent API (docs/protocol.md):        curl -H 'Authorization: Bearer $token' http://127.0.0.1:$port/api/queue
  Data:                                $run/data/flowd.db
  Flows (edit one: new chats use it):  $run/flows -> examples/

MSG
exec "$build/flowd" --port "$port" --data "$run/data" --flows "$run/flows" --web runtime/web \
  --channel demo=saas-support $(for f in "$run"/flows/*.flow; do n=$(basename "$f" .flow); echo "--channel $n=$n"; done) \
  --agent-token "$token"
