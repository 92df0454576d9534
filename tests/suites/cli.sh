#!/usr/bin/env bash
# The flowc commands other than check and test: disasm (pinned output, .fbc
# equals .flow, damaged input), graph (renders with Graphviz, expected
# edges), run (driven through stdin), and byte-identical builds.
# usage: tests/suites/cli.sh BUILD_DIR SHARED_DIR
set -u
build=$1; shared=$2
here=$(cd "$(dirname "$0")/.." && pwd)
flowc=$(realpath "$build/flowc")
fixtures="$here/cli"
acme="$shared/conformance/acme/acme.flow"
faq="$shared/conformance/faq/faq.flow"
# Without the shared suite (a clone elsewhere), copies of its two flows
# kept beside the fixtures stand in; graph then renders the fixtures only.
[ -f "$acme" ] || acme="$fixtures/acme.flow"
[ -f "$faq" ] || faq="$fixtures/faq.flow"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=0; f=0

ok() { p=$((p + 1)); }
fail() { f=$((f + 1)); echo "FAIL $*"; }
# check NAME COMMAND...: passes when the command succeeds
check() { local name=$1; shift; if "$@"; then ok; else fail "$name"; fi; }
# has NAME FILE TEXT...: FILE holds every TEXT as a fixed string
has() {
  local name=$1 file=$2; shift 2
  for want in "$@"; do
    grep -qF -- "$want" "$file" || { fail "$name: no '$want' in:"; sed 's/^/    /' "$file"; return; }
  done
  ok
}
# status NAME WANT COMMAND...: the command exits with status WANT
status() {
  local name=$1 want=$2; shift 2
  "$@" > "$tmp/out" 2> "$tmp/err"; local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else fail "$name: exit $rc, expected $want"; cat "$tmp/err"; fi
}

# ---- disasm -----------------------------------------------------------------
if "$flowc" disasm "$fixtures/small.flow" > "$tmp/small.disasm" &&
  diff -u "$fixtures/small.disasm" "$tmp/small.disasm" > "$tmp/diff"; then
  ok
else
  fail "disasm small.flow differs from tests/cli/small.disasm:"; head -40 "$tmp/diff"
fi
"$flowc" build "$fixtures/small.flow" -o "$tmp/small.fbc"
"$flowc" disasm "$tmp/small.fbc" > "$tmp/fbc.disasm" 2>&1
check "disasm of the .fbc equals disasm of the .flow" cmp -s "$tmp/fbc.disasm" "$tmp/small.disasm"
"$flowc" disasm "$acme" > "$tmp/acme.disasm"
has "disasm acme" "$tmp/acme.disasm" 'hours     Europe/Warsaw' 'node capture:' \
  'HANDOFF       "sales", 120s, @' '  0  "human" -> human' '  2  budget: number = 0'

head -c 200 /dev/urandom > "$tmp/garbage.fbc"
status "disasm garbage.fbc" 1 "$flowc" disasm "$tmp/garbage.fbc"
has "disasm garbage.fbc message" "$tmp/err" "garbage.fbc: not Flow bytecode"
cp "$tmp/small.fbc" "$tmp/damaged.fbc"
printf '\377' | dd of="$tmp/damaged.fbc" bs=1 seek=40 conv=notrunc 2> /dev/null
status "disasm damaged.fbc" 1 "$flowc" disasm "$tmp/damaged.fbc"
has "disasm damaged.fbc message" "$tmp/err" "damaged.fbc: bytecode is damaged"
echo 'flow "x"' > "$tmp/bad.flow"
status "disasm of a flow with errors" 1 "$flowc" disasm "$tmp/bad.flow"
status "disasm without a file" 2 "$flowc" disasm
status "disasm of a missing file" 2 "$flowc" disasm "$tmp/missing.fbc"

# ---- graph ------------------------------------------------------------------
for flow in "$shared"/conformance/*/*.flow "$fixtures/small.flow"; do
  [ -f "$flow" ] || continue
  name=${flow#"$shared"/conformance/}
  "$flowc" graph "$flow" > "$tmp/g.dot" 2> "$tmp/err"; rc=$?
  if [ "$rc" -eq 0 ]; then
    check "graph $name renders with dot" dot -Tsvg "$tmp/g.dot" -o "$tmp/g.svg"
  elif [ "$rc" -eq 1 ] && [ "${name%%/*}" = errors ] && [ ! -s "$tmp/g.dot" ]; then
    ok # a flow with errors: diagnostics, no graph
  else
    fail "graph $name: exit $rc"; cat "$tmp/err"
  fi
done
"$flowc" graph "$acme" > "$tmp/acme.dot"
has "graph acme" "$tmp/acme.dot" '"start" -> "pricing" [label="Pricing"];' \
  '"start" [label="start", style="filled,bold"' '"human" [label="human\nhandoff: sales"' \
  '"pricing" -> "start" [label="Yes"];' '"demo" -> "human" [label="if budget >= 1000"];' \
  '"human" -> "capture" [label="offline", style=dotted' \
  '"on 1" [label="on: human, agent, operator", shape=ellipse, style=dashed];' '"on 1" -> "human" [style=dashed];'
"$flowc" graph "$faq" > "$tmp/faq.dot"
has "graph faq" "$tmp/faq.dot" '"menu" -> "app" [label="Mobile app [if visitor.device == \"mobile\"]"];' \
  '"menu" -> "more";' '"more" -> "menu" [label="Yes"];'
"$flowc" graph "$fixtures/small.flow" > "$tmp/small.dot"
has "graph small (escapes, nested options and branches)" "$tmp/small.dot" 'digraph "Small \"test\" bot" {' \
  '"start" -> "plans" [label="Über \\ more / if score > 10"];' \
  '"start" -> "helpdesk" [label="Über \\ more / elif visitor.country == \"PL\""];' \
  '"plans" [label="plans\nhandoff", style="rounded"'
"$flowc" graph "$acme" > "$tmp/acme2.dot"
check "graph is deterministic" cmp -s "$tmp/acme.dot" "$tmp/acme2.dot"
status "graph of a missing file" 2 "$flowc" graph "$tmp/missing.flow"

# ---- run --------------------------------------------------------------------
run() { "$flowc" run "$acme" > "$tmp/run.out" 2>&1; }
run <<'CHAT'
2
Anna
anna@example.com
500
CHAT
check "run acme to a lead exits 0" test $? -eq 0
has "run acme to a lead" "$tmp/run.out" 'bot: Hi there! How can we help?' \
  '  [1] Pricing  [2] Book a demo  [3] Talk to a person' 'bot: Thanks Anna! Your email?' \
  'lead: name=Anna email=anna@example.com value=500' 'end: lead' '(the conversation has ended)'
check "run prints no prompt when stdin is not a terminal" test "$(grep -c '^> ' "$tmp/run.out")" -eq 0

run <<'CHAT'
/time 2026-01-05 12:00
3
hello?
/taken
CHAT
has "run /taken" "$tmp/run.out" 'handoff: sales' '(the bot ignores text' 'end: handoff'

run <<'CHAT'
/time 2026-01-05 12:00
Talk to a person
/timeout
ann@example.com
CHAT
has "run /timeout" "$tmp/run.out" 'handoff: sales' 'bot: Nobody is available right now.' \
  'lead: email=ann@example.com note="offline request"' 'end: lead'

run <<'CHAT'
/time 2026-01-05 12:00
/agents 0
/visitor name="Jan K" returning=true
/restart
/taken
/bogus
3
CHAT
has "run scene commands" "$tmp/run.out" 'bot: Hi Jan K! How can we help?' '(no handoff is waiting)' \
  "(unknown command '/bogus'" 'bot: Nobody is available right now.'
check "run scene commands: no handoff without agents" test "$(grep -c '^handoff:' "$tmp/run.out")" -eq 0

printf '1\n' | "$flowc" run "$acme" > "$tmp/run.out" 2>&1
check "run exits 0 at the end of input" test $? -eq 0
printf '/quit\n2\n' | "$flowc" run "$acme" > "$tmp/run.out" 2>&1
check "run /quit" test $? -eq 0 -a "$(grep -c 'What is your name' "$tmp/run.out")" -eq 0
status "run of a flow with errors" 1 "$flowc" run "$tmp/bad.flow"

# ---- build ------------------------------------------------------------------
for flow in "$acme" "$fixtures/small.flow"; do
  "$flowc" build "$flow" -o "$tmp/one.fbc" && "$flowc" build "$flow" -o "$tmp/two.fbc"
  check "build $(basename "$flow") twice gives the same bytes" cmp -s "$tmp/one.fbc" "$tmp/two.fbc"
done

echo "$p passed, $f failed"
[ "$f" -eq 0 ]
