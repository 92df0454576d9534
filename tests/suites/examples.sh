#!/usr/bin/env bash
# The example playbooks and the code in the documentation.
#
#   examples/NAME/NAME.flow   must compile with no warnings (flowc check -Werror)
#   examples/NAME/*.chat      must pass `flowc test`, as given and with --roundtrip
#   docs/*.md                 every ```flow block must pass `flowc check -Werror`;
#                             every ```flow-error block must fail it, and each
#                             diagnostic code it mentions (FC023, ...) must be
#                             among the diagnostics reported for it; every
#                             ```chat block must pass `flowc test` (as given and
#                             with --roundtrip) against the last ```flow block
#                             before it in the same file
#
#   docs/language.md          its table of diagnostic codes names exactly the
#                             codes of `flowc --list-codes`
#
# Counts one per check, one per transcript per mode, one per ```flow and
# ```flow-error block, one per ```chat block per mode and one for the code
# table; prints each failure and ends with `N passed, N failed`.
# usage: tests/suites/examples.sh BUILD_DIR SHARED_DIR
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
flowc="$build/flowc"
case $flowc in /*) ;; *) flowc="$PWD/$flowc" ;; esac
if [ ! -x "$flowc" ]; then
  echo "no flowc at $flowc"
  echo "0 passed, 1 failed"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

ok() { pass=$((pass + 1)); }
bad() { # WHAT [DETAILS]
  fail=$((fail + 1))
  echo "FAIL $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 12 | sed 's/^/    /'; fi
}

# relines FILE MD LINE: reads flowc output and names FILE:N as MD:(N+LINE),
# so that problems in a docs block point into the .md file.
relines() {
  awk -v f="$1:" -v md="$2" -v at="$3" '
    index($0, f) == 1 { rest = substr($0, length(f) + 1); n = rest + 0; sub(/^[0-9]+/, "", rest)
                        print md ":" (n + at) rest; next }
    { print }'
}

# check LABEL FLOW [MD LINE]: flowc check -Werror must be silent and succeed.
check() {
  local out rc
  out=$("$flowc" check -Werror "$2" 2>&1); rc=$?
  [ $# -ge 4 ] && out=$(printf '%s\n' "$out" | relines "$2" "$3" "$4")
  if [ $rc -eq 0 ] && [ -z "$out" ]; then ok; else bad "$1 (exit $rc)" "$out"; fi
}

# transcript LABEL FLOW CHAT [MD LINE]: flowc test, as given and with --roundtrip.
transcript() {
  local mode out rc last args
  for mode in "" --roundtrip; do
    args=("$2" "$3"); [ -n "$mode" ] && args+=("$mode")
    out=$("$flowc" test "${args[@]}" 2>&1); rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -eq 0 ] && [ "$last" = "1 passed, 0 failed" ]; then ok; continue; fi
    out=$(printf '%s\n' "$out" | grep -v '^[0-9]* passed, [0-9]* failed$')
    [ $# -ge 5 ] && out=$(printf '%s\n' "$out" | relines "$3" "$4" "$5")
    bad "$1${mode:+ [$mode]} (exit $rc)" "$out"
  done
}

# ---- the examples ---------------------------------------------------------
cd "$root" || exit 1
for dir in examples/*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  flow="$dir$name.flow"
  if [ ! -f "$flow" ]; then bad "$dir: no $name.flow"; continue; fi
  check "$flow: flowc check -Werror" "$flow"
  chats=("$dir"*.chat)
  if [ ! -e "${chats[0]}" ]; then bad "$dir: no .chat transcripts"; continue; fi
  for chat in "${chats[@]}"; do
    transcript "$chat" "$flow" "$chat"
  done
done

# ---- code blocks in the documentation -------------------------------------
# Writes each block to a file of its own, listed as "KIND MD LINE FILE" in
# $tmp/index (KIND is flow, flow-error or chat; LINE is the opening fence).
: > "$tmp/index"
for md in docs/*.md; do
  [ -f "$md" ] || continue
  awk -v md="$md" -v dir="$tmp" '
    BEGIN { id = md; gsub(/[^A-Za-z0-9]/, "_", id) }
    !inblock && /^ *```(flow|flow-error|chat) *$/ {
      indent = $0; sub(/`.*$/, "", indent); indent = length(indent)
      kind = $0; sub(/^ *```/, "", kind); sub(/ *$/, "", kind)
      file = dir "/" id "-" NR (kind == "chat" ? ".chat" : ".flow")
      printf "%s %s %d %s\n", kind, md, NR, file >> (dir "/index")
      printf "" > file
      inblock = 1; next
    }
    inblock && /^ *``` *$/ { inblock = 0; close(file); next }
    inblock {
      lead = $0; sub(/[^ ].*$/, "", lead)
      print substr($0, (length(lead) < indent ? length(lead) : indent) + 1) >> file
    }
    END { if (inblock) printf "unclosed %s %d -\n", md, NR >> (dir "/index") }
  ' "$md"
done

lastflow=""; lastmd=""
while read -r kind md line file; do
  case $kind in
  unclosed)
    bad "$md: a code block is not closed" ;;
  flow)
    lastflow=$file; lastmd=$md
    check "$md:$line: a \`\`\`flow block does not compile cleanly" "$file" "$md" "$line" ;;
  flow-error)
    out=$("$flowc" check -Werror "$file" 2>&1); rc=$?
    out=$(printf '%s\n' "$out" | relines "$file" "$md" "$line")
    if [ $rc -ne 1 ]; then
      bad "$md:$line: a \`\`\`flow-error block must fail to compile (exit $rc)" "$out"; continue
    fi
    json=$("$flowc" check -Werror --diagnostics=json "$file" 2>/dev/null)
    missing=""
    for code in $(grep -o 'FC[0-9][0-9][0-9]' "$file" | sort -u); do
      printf '%s' "$json" | grep -q "\"code\": *\"$code\"" || missing="$missing $code"
    done
    if [ -z "$missing" ]; then ok
    else bad "$md:$line: a \`\`\`flow-error block does not get the diagnostics it names:$missing" "$out"; fi ;;
  chat)
    if [ "$lastmd" != "$md" ]; then
      bad "$md:$line: a \`\`\`chat block with no \`\`\`flow block before it"; continue
    fi
    transcript "$md:$line: \`\`\`chat block" "$lastflow" "$file" "$md" "$line" ;;
  esac
done < "$tmp/index"

# ---- the guide's table of diagnostic codes --------------------------------
# docs/language.md explains every code for authors; it must name exactly
# the codes flowc has.
if [ -f docs/language.md ]; then
  have=$("$flowc" --list-codes | sed -n 's/^| \(FC[0-9]*\) |.*/\1/p' | sort)
  told=$(sed -n 's/^| \(FC[0-9]*\) |.*/\1/p' docs/language.md | sort)
  if [ -n "$have" ] && [ "$have" = "$told" ]; then ok
  else bad "docs/language.md: its table of diagnostic codes differs from flowc --list-codes" "$(diff <(printf '%s\n' "$have") <(printf '%s\n' "$told"))"; fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
