#!/usr/bin/env bash
# `make run`: starts flowd on an embedded SQLite file with the example flows,
# a demo channel, a demo website with the widget, the agent inbox and the
# admin pages; prints the URLs. Ctrl-C stops it cleanly.
#
# There is no built-in account: the first time, an admin "admin" is created
# with a random password, printed once here (FLOWD_ADMIN only acts on an
# empty store). Later runs reuse the accounts in build/run/data.
set -eu
build=${1:-build}
port=${PORT:-8080}
run=$build/run
mkdir -p "$run/flows" "$run/data"
rm -f "$run"/flows/*.flow
for f in examples/*/*.flow; do ln -sf "$(realpath "$f")" "$run/flows/"; done
token=${FLOWD_AGENT_TOKEN:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}
account="admin account: the one you created on an earlier run (data in $run/data)"
if [ ! -f "$run/data/flowd.db" ] && [ -z "${FLOWD_ADMIN:-}" ]; then
  password=$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')
  export FLOWD_ADMIN="admin:$password"
  account="admin account: user admin, password $password (shown once; add agents on Admin > Team or with flowd adduser)"
fi
base="http://127.0.0.1:$port"
cat <<MSG

  Demo website with the chat widget:  $base/demo.html
  Agent inbox:                        $base/inbox.html
  Leads:                              $base/leads.html
  Channel settings:                   $base/admin/channels.html
  Statistics:                         $base/admin/stats.html
  $account
  Health / metrics:                   $base/healthz  $base/metrics
  Scripts (docs/api.md):              curl -H 'Authorization: Bearer $token' $base/api/inbox
  Data:                               $run/data/flowd.db
  Flows (edit one: new chats use it): $run/flows -> examples/

MSG
exec "$build/flowd" --port "$port" --data "$run/data" --flows "$run/flows" --web runtime/web \
  --channel demo=saas-support $(for f in "$run"/flows/*.flow; do n=$(basename "$f" .flow); echo "--channel $n=$n"; done) \
  --agent-token "$token"
