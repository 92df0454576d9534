#!/usr/bin/env bash
# Diagnostics of `flowc check` (spec sections 10-11), four parts:
#
#  1. pinned text: every tests/diag/NAME.expected holds the exact standard
#     error of `flowc check NAME.flow` (run in tests/diag, stderr not a
#     terminal) followed by a line `exit N`; NAME.args, if present, holds the
#     arguments to use instead (several files, -Werror, bad usage...); every
#     .flow and .args in tests/diag is a fixture. Every code of
#     `flowc --list-codes` must be pinned by at least one fixture, and
#     caret.tty pins the source line + caret output on a terminal (via
#     script(1); skipped if that is missing).
#  2. JSON: the same run with --diagnostics=json must parse and say the same
#     as the text (files, lines, columns, severities, messages, codes, notes).
#  3. SARIF: likewise with --diagnostics=sarif, and every log must be valid
#     SARIF 2.1.0 (tests/sarif/validate.mjs, schema from npm; node and npm
#     are required: without them this part fails, it is never skipped).
#  4. robustness: huge, deep and malformed inputs generated in BUILD_DIR must
#     give errors with the right code, exit 1, within 20 seconds.
#
# usage: tests/suites/diag.sh BUILD_DIR [SHARED_DIR]
#   DIAG_UPDATE=1  write the missing .expected files from the current
#                  compiler; DIAG_UPDATE=all rewrites every .expected and
#                  caret.tty (some pin what the compiler should say, not what
#                  it says: read every change before committing it)
#   DIAG_KEEP=1    keep the outputs (BUILD_DIR/diag-suite.XXXXXX) to look at
#   SARIF_MULTITOOL=1  also run Microsoft's Sarif.Multitool on every log if
#                  it is installed (about a second per log; off by default)
set -u
build=${1:?usage: diag.sh BUILD_DIR [SHARED_DIR]}
root=$(cd "$(dirname "$0")/../.." && pwd)
diag="$root/tests/diag"
sarif_dir="$root/tests/sarif"
flowc=$(realpath "$build/flowc" 2>/dev/null) || flowc=""
update=${DIAG_UPDATE:-0}
export LC_ALL=C # strerror() texts in "cannot read" messages
export SARIF_MULTITOOL=${SARIF_MULTITOOL:-0}
limit=20 # seconds for any one run of flowc

p=0; f=0
pass() { p=$((p + 1)); }
fail() { f=$((f + 1)); printf 'FAIL %s\n' "$*"; }
finish() { echo "$p passed, $f failed"; [ "$f" -eq 0 ]; exit $?; }

if [ -z "$flowc" ] || [ ! -x "$flowc" ]; then
  fail "no flowc at $build/flowc (run make first)"
  finish
fi
# A directory of its own: several runs (make test, make check) may overlap.
out=$(mktemp -d "$(realpath "$build")/diag-suite.XXXXXX") || { fail "cannot make a directory in $build"; finish; }
if [ "${DIAG_KEEP:-0}" = 1 ]; then echo "outputs kept in $out"; else trap 'rm -rf "$out"' EXIT; fi
mkdir -p "$out/text" "$out/json" "$out/sarif" "$out/robust"

# run_flowc DIR PREFIX ARGS...: runs flowc in DIR, stdout to PREFIX.out,
# stderr to PREFIX.err, exit status to PREFIX.rc (124 when it timed out).
run_flowc() {
  local dir=$1 prefix=$2; shift 2
  (cd "$dir" && exec timeout "$limit" "$flowc" "$@" >"$prefix.out" 2>"$prefix.err" </dev/null)
  echo $? >"$prefix.rc"
}

# show_diff EXPECTED ACTUAL: the first lines of a unified diff, indented.
show_diff() { diff -u "$1" "$2" | head -n 40 | cut -c1-300 | sed 's/^/    /'; }

# The comparison of JSON and SARIF output with the text diagnostics.
cat >"$out/compare.py" <<'PY'
import json, re, sys

class Mismatch(Exception):
    pass

DIAG = re.compile(r'^(.*?):(\d+):(\d+): (error|warning|note): (.*?)(?: \[(FC\d{3})\])?$')

def unsafe(cp):
    # the characters fc_diag.c shows as U+FFFD on a terminal
    return (cp < 0x20 or 0x7F <= cp <= 0x9F or cp in (0x2028, 0x2029)
            or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069)

def as_text(s):
    return ''.join('\ufffd' if unsafe(ord(c)) else c for c in s)

def parse_text(path):
    """Diagnostics (with their notes) and the other lines of a text run."""
    diags, other = [], []
    with open(path, encoding='utf-8', errors='replace') as fp:
        for line in fp.read().splitlines():
            m = DIAG.match(line)
            if not m:
                other.append(line)
                continue
            d = {'file': m[1], 'line': int(m[2]), 'column': int(m[3]), 'message': m[5]}
            if m[4] == 'note':
                if not diags:
                    raise Mismatch(f'a note before any diagnostic: {line}')
                diags[-1]['notes'].append(d)
            else:
                d.update(severity=m[4], code=m[6], notes=[])
                diags.append(d)
    return diags, other

def load(path):
    with open(path, 'rb') as fp:
        data = fp.read()
    try:
        return json.loads(data.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        raise Mismatch(f'{path}: not valid JSON: {e}')

def from_json(doc):
    if not isinstance(doc, list):
        raise Mismatch('the JSON output is not an array')
    diags = []
    for o in doc:
        for key, kind in (('file', str), ('line', int), ('column', int), ('severity', str),
                          ('message', str), ('code', str), ('notes', list)):
            if not isinstance(o.get(key), kind):
                raise Mismatch(f'JSON diagnostic without a valid "{key}": {o}')
        if o['severity'] not in ('error', 'warning'):
            raise Mismatch(f'bad severity: {o}')
        diags.append({'file': o['file'], 'line': o['line'], 'column': o['column'],
                      'message': as_text(o['message']), 'severity': o['severity'], 'code': o['code'],
                      'notes': [{'file': n['file'], 'line': n['line'], 'column': n['column'],
                                 'message': as_text(n['message'])} for n in o['notes']]})
    return diags

def sarif_message(m):
    return as_text(m['text'].replace('{{', '{').replace('}}', '}'))

def sarif_site(loc):
    phys = loc['physicalLocation']
    return phys['artifactLocation']['uri'], phys['region']['startLine'], phys['region']['startColumn']

def from_sarif(doc, codes):
    if doc.get('version') != '2.1.0' or len(doc.get('runs', [])) != 1:
        raise Mismatch('not a SARIF 2.1.0 log with one run')
    run = doc['runs'][0]
    rules = run['tool']['driver']['rules']
    ids = [r['id'] for r in rules]
    if codes and ids != codes:
        raise Mismatch(f'the rules are {ids}, not the codes of --list-codes {codes}')
    diags = []
    for r in run['results']:
        if not 0 <= r['ruleIndex'] < len(rules) or rules[r['ruleIndex']]['id'] != r['ruleId']:
            raise Mismatch(f'ruleIndex does not point at rule {r["ruleId"]}')
        uri, line, col = sarif_site(r['locations'][0])
        notes = []
        for n in r.get('relatedLocations', []):
            nuri, nline, ncol = sarif_site(n)
            notes.append({'file': nuri, 'line': nline, 'column': ncol, 'message': sarif_message(n['message'])})
        diags.append({'file': uri, 'line': line, 'column': col, 'message': sarif_message(r['message']),
                      'severity': r['level'], 'code': r['ruleId'], 'notes': notes})
    return diags

def compare(kind, text_err, doc_out, doc_err, codes):
    want, other = parse_text(text_err)
    with open(doc_err, encoding='utf-8', errors='replace') as fp:
        err_lines = fp.read().splitlines()
    if err_lines != other:
        extra = [l for l in err_lines if l not in other] or err_lines
        raise Mismatch(f'standard error should hold only {other[:3]}, got {extra[:3]}'[:400])
    doc = load(doc_out)
    got = from_json(doc) if kind == 'json' else from_sarif(doc, codes)
    if kind == 'sarif':  # SARIF URIs: the paths of the fixtures are plain
        for d in want:
            for s in [d] + d['notes']:
                s['file'] = s['file'].removeprefix('./')
    if got != want:
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else None
            w = want[i] if i < len(want) else None
            if g != w:
                raise Mismatch(f'diagnostic {i + 1} differs from the text output:\n'
                               f'    text:  {w}\n    {kind}: {g}')

def main():
    """Each line of the manifest: NAME KIND TEXT_ERR DOC_OUT DOC_ERR (tabs).
    Prints a FAIL line per mismatch, then the number that passed."""
    manifest, codes_file = sys.argv[1:3]
    with open(codes_file) as fp:
        codes = fp.read().split()
    passed = 0
    with open(manifest) as fp:
        for line in fp.read().splitlines():
            name, kind, *files = line.split('\t')
            try:
                compare(kind, *files, codes)
                passed += 1
            except Mismatch as e:
                print(f'FAIL {name}: --diagnostics={kind}: {e}')
            except (OSError, KeyError, TypeError, IndexError, AttributeError) as e:
                print(f'FAIL {name}: --diagnostics={kind}: {type(e).__name__}: {e}')
    print(f'passed {passed}')

main()
PY

"$flowc" --list-codes | sed -n 's/^| \(FC[0-9][0-9][0-9]\) |.*/\1/p' >"$out/codes"
[ -s "$out/codes" ] || fail "flowc --list-codes printed no codes"

# ---- 1-3: the pinned fixtures, in text, JSON and SARIF ----------------------

# check_fixture NAME: one fixture in all three formats.
check_fixture() {
  local name=$1 args t j s rc
  if [ -f "$diag/$name.args" ]; then
    read -ra args <"$diag/$name.args"
  elif [ -f "$diag/$name.flow" ]; then
    args=(check "$name.flow")
  else
    fail "$name: no $name.flow and no $name.args"; return
  fi
  t="$out/text/$name"; j="$out/json/$name"; s="$out/sarif/$name"

  run_flowc "$diag" "$t" "${args[@]}"
  rc=$(cat "$t.rc")
  { cat "$t.err"; echo "exit $rc"; } >"$t.actual"
  if { [ "$update" = all ] || { [ "$update" = 1 ] && [ ! -f "$diag/$name.expected" ]; }; } &&
    ! cmp -s "$t.actual" "$diag/$name.expected"; then
    cp "$t.actual" "$diag/$name.expected"; echo "updated tests/diag/$name.expected"
  fi
  if [ ! -f "$diag/$name.expected" ]; then
    fail "$name: no $name.expected (DIAG_UPDATE=1 writes it)"
  elif ! cmp -s "$diag/$name.expected" "$t.actual"; then
    fail "$name: text diagnostics differ (- expected, + actual)"; show_diff "$diag/$name.expected" "$t.actual"
  elif [ -s "$t.out" ]; then
    fail "$name: text diagnostics also wrote to standard output: $(head -c 200 "$t.out")"
  else
    pass
  fi
  [ "$rc" -ge 124 ] && return # timed out or crashed: said above

  for kind in json sarif; do
    local x=$j; [ $kind = sarif ] && x=$s
    run_flowc "$diag" "$x" "${args[@]}" "--diagnostics=$kind"
    if [ "$(cat "$x.rc")" != "$rc" ]; then
      fail "$name: exit status $(cat "$x.rc") with --diagnostics=$kind, $rc without"
    elif [ "$rc" = 2 ] && [ ! -s "$x.out" ] && ! grep -q ': \(error\|warning\): ' "$t.err"; then
      pass # bad usage: nothing to print
    else # compared with the text all at once below: python starts once
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$t.err" "$x.out" "$x.err" >>"$out/manifest"
    fi
    [ $kind = sarif ] && [ -s "$x.out" ] && cp "$x.out" "$out/sarif/$name.sarif"
  done
}

for e in "$diag"/*.expected; do
  [ -e "$e" ] || continue
  check_fixture "$(basename "$e" .expected)"
done
# Every .flow and every .args is a fixture: new ones get their .expected
# in update mode, and none is forgotten otherwise.
for x in "$diag"/*.flow "$diag"/*.args; do
  [ -e "$x" ] || continue
  name=$(basename "${x%.*}")
  [ -f "$diag/$name.expected" ] && continue
  if [ "$update" != 0 ]; then
    check_fixture "$name"
  else
    fail "tests/diag/$(basename "$x"): no $name.expected (DIAG_UPDATE=1 writes it)"
  fi
done

# JSON and SARIF against the text.
if [ -s "$out/manifest" ]; then
  python3 "$out/compare.py" "$out/manifest" "$out/codes" >"$out/compare.log" 2>&1
  grep -v '^passed [0-9]*$' "$out/compare.log"
  n=$(sed -n 's/^passed \([0-9]*\)$/\1/p' "$out/compare.log")
  p=$((p + ${n:-0}))
  f=$((f + $(grep -c '^FAIL ' "$out/compare.log")))
  [ -n "$n" ] || fail "the JSON/SARIF comparison did not finish"
fi

# Every diagnostic code is pinned by some fixture.
while read -r code; do
  if grep -lq -- "\[$code\]" "$diag"/*.expected 2>/dev/null; then
    pass
  else
    fail "code $code: no tests/diag/*.expected shows it"
  fi
done <"$out/codes"

# The source line and caret, on a terminal.
if command -v script >/dev/null 2>&1 && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
  cmd="cd $(printf '%q' "$diag") && exec $(printf '%q' "$flowc") check caret.flow"
  timeout "$limit" script -qec "$cmd" /dev/null </dev/null >"$out/text/caret.tty-raw" 2>&1
  rc=$?
  { tr -d '\r' <"$out/text/caret.tty-raw"; echo "exit $rc"; } >"$out/text/caret.tty"
  if { [ "$update" = all ] || { [ "$update" = 1 ] && [ ! -f "$diag/caret.tty" ]; }; } &&
    ! cmp -s "$out/text/caret.tty" "$diag/caret.tty"; then
    cp "$out/text/caret.tty" "$diag/caret.tty"; echo "updated tests/diag/caret.tty"
  fi
  if cmp -s "$diag/caret.tty" "$out/text/caret.tty"; then
    pass
  else
    fail "caret: terminal output differs (- expected, + actual)"; show_diff "$diag/caret.tty" "$out/text/caret.tty"
  fi
else
  echo "note: script(1) or a pseudo-terminal is missing: the terminal output (caret.tty) is not checked"
fi

# ---- 3: SARIF schema validation -----------------------------------------------

# True when tests/sarif has what validate.mjs needs (the optional Multitool
# is not needed).
sarif_deps_ok() {
  (cd "$sarif_dir" && node -e '
    for (const p of ["ajv", "ajv-draft-04", "ajv-formats", "@microsoft/jest-sarif"]) require.resolve(p + "/package.json");
  ') >/dev/null 2>&1
}

validate_sarif() {
  local logs=("$out"/sarif/*.sarif)
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    fail "sarif: node and npm are required to validate SARIF logs (apt-get install nodejs npm)"; return
  fi
  if ! sarif_deps_ok; then
    # --omit=optional: the Multitool is a 43 MB download this suite does not use.
    if ! (cd "$sarif_dir" && npm ci --omit=optional --no-audit --no-fund) >"$out/npm.log" 2>&1 || ! sarif_deps_ok; then
      fail "sarif: 'npm ci --omit=optional' in tests/sarif failed:"; tail -n 15 "$out/npm.log" | sed 's/^/    /'; return
    fi
  fi
  if [ ! -e "${logs[0]}" ]; then
    fail "sarif: no SARIF log to validate"; return
  fi
  node "$sarif_dir/validate.mjs" "${logs[@]}" >"$out/validate.log" 2>&1
  local rc=$? valid
  valid=$(grep -c ': valid (' "$out/validate.log")
  p=$((p + valid))
  if [ "$valid" -ne "${#logs[@]}" ] || [ "$rc" -ne 0 ]; then
    fail "sarif: $((${#logs[@]} - valid)) of ${#logs[@]} logs are not valid SARIF 2.1.0 (validate.mjs exit $rc):"
    grep -v ': valid (' "$out/validate.log" | head -n 30 | cut -c1-300 | sed 's/^/    /'
  fi
  # Paths that need encoding, notes, the too-many summary: tests/sarif/run.sh.
  if "$sarif_dir/run.sh" "$build" >"$out/run-sh.log" 2>&1; then
    pass
  else
    fail "sarif: tests/sarif/run.sh failed:"; grep -v ': valid (' "$out/run-sh.log" | head -n 20 | cut -c1-300 | sed 's/^/    /'
  fi
}
validate_sarif

# ---- 4: robustness ------------------------------------------------------------

r="$out/robust"

# verdict NAME: reads $r/NAME.{rc,err}; sets $why when the run crashed, hung
# or did not exit 1.
verdict() {
  local rc; rc=$(cat "$r/$1.rc")
  why=""
  if [ "$rc" = 124 ]; then why="timed out after ${limit}s"
  elif [ "$rc" -gt 128 ]; then why="killed by signal $((rc - 128)) (crash)"
  elif [ "$rc" != 1 ]; then why="exit status $rc, expected 1"
  fi
}

# exact NAME CONTENT EXPECTED: CONTENT (printf %b escapes) as NAME.flow must
# give exactly EXPECTED on standard error, and exit 1.
exact() {
  local name=$1
  printf '%b' "$2" >"$r/$name.flow"
  run_flowc "$r" "$r/$name" check "$name.flow"
  verdict "$name"
  printf '%s\n' "$3" >"$r/$name.expected"
  if [ -n "$why" ]; then
    fail "robust $name: $why"
  elif ! cmp -s "$r/$name.expected" "$r/$name.err"; then
    fail "robust $name: diagnostics differ (- expected, + actual)"; show_diff "$r/$name.expected" "$r/$name.err"
  else
    pass
  fi
}

# big NAME MODE CODES [TEXT] < generator: NAME.flow is written by the python
# code on standard input (file name in sys.argv[1]). It must exit 1 within
# the time limit; MODE "only": the codes on its output are exactly CODES,
# MODE "has": CODES are among them. TEXT, if given, must appear too. The
# output must stay under 1 MB whatever the input.
big() {
  local name=$1 mode=$2 codes=$3 text=${4:-} got c want
  python3 - "$r/$name.flow" || { fail "robust $name: the generator failed"; return; }
  run_flowc "$r" "$r/$name" check "$name.flow"
  rm -f "$r/$name.flow"
  verdict "$name"
  got=$(grep -ao '\[FC[0-9]*\]$' "$r/$name.err" | tr -d '[]' | sort -u | tr '\n' ' ')
  for c in $codes; do
    case " $got" in *" $c "*) ;; *) why="${why:+$why; }no $c";; esac
  done
  want=$(tr ' ' '\n' <<<"$codes" | sort -u | tr '\n' ' ')
  if [ "$mode" = only ] && [ -z "$why" ] && [ "$got" != "$want" ]; then
    why="codes $got, expected only $codes"
  fi
  if [ -n "$text" ] && ! grep -aqF -- "$text" "$r/$name.err"; then why="${why:+$why; }no '$text'"; fi
  if [ "$(wc -c <"$r/$name.err")" -gt 1000000 ]; then why="${why:+$why; }$(wc -c <"$r/$name.err") bytes of output"; fi
  if [ -n "$why" ]; then
    fail "robust $name: $why"
    head -n 5 "$r/$name.err" | cut -c1-200 | sed 's/^/    /'
  else
    pass
  fi
}

# A file that cannot be read (root reads anything: then only the missing
# file and the directory of the fixtures are tried).
if [ "$(id -u)" != 0 ]; then
  printf 'flow "t"\n' >"$r/secret.flow"
  chmod 000 "$r/secret.flow"
  run_flowc "$r" "$r/secret" check secret.flow
  if [ "$(cat "$r/secret.rc")" = 2 ] && grep -q "cannot read 'secret.flow': Permission denied" "$r/secret.err"; then
    pass
  else
    fail "robust secret: exit $(cat "$r/secret.rc") for a file without read permission, expected 2: $(head -c 200 "$r/secret.err")"
  fi
  chmod 600 "$r/secret.flow"
fi

# NUL bytes: one error each, in a string, a comment and code.
exact nul-string 'flow "t"\nnode start {\n  say "a\0b"\n}\n' \
  'nul-string.flow:3:9: error: NUL byte in the source [FC002]'
exact nul-comment 'flow "t"\nnode start {\n  say "hi" # a\0b\n}\n' \
  'nul-comment.flow:3:15: error: NUL byte in the source [FC002]'
exact nul-code 'flow "t"\nnode start {\n  say "hi"\0\n}\n' \
  'nul-code.flow:3:11: error: NUL byte in the source [FC002]'
# Invalid UTF-8: overlong forms, truncated sequences, lone continuation
# bytes, a surrogate and a code point past U+10FFFF; one error per token.
exact overlong-string 'flow "t"\nnode start {\n  say "a\xc0\xafb"\n}\n' \
  'overlong-string.flow:3:9: error: invalid UTF-8 byte 0xc0 [FC002]'
exact overlong-comment 'flow "t"\n# \xe0\x80\xaf\nnode start {\n  say "hi"\n}\n' \
  'overlong-comment.flow:2:3: error: invalid UTF-8 byte 0xe0 [FC002]'
exact overlong-code 'flow "t"\nnode start {\n  say "hi" \xc0\xaf\n}\n' \
  'overlong-code.flow:3:12: error: invalid UTF-8 byte 0xc0 [FC002]'
exact truncated-string 'flow "t"\nnode start {\n  say "a\xe2\x82"\n}\n' \
  'truncated-string.flow:3:9: error: invalid UTF-8 byte 0xe2 [FC002]'
exact truncated-comment 'flow "t"\nnode start {\n  end # \xe2\x82\n}\n' \
  'truncated-comment.flow:3:9: error: invalid UTF-8 byte 0xe2 [FC002]'
exact truncated-code 'flow "t"\nnode start {\n  \xe2\x82 say "x"\n}\n' \
  'truncated-code.flow:3:3: error: invalid UTF-8 byte 0xe2 [FC002]'
exact truncated-at-eof 'flow "t"\nnode start {\n  say "x"\n}\n# \xf0\x9f\x8e' \
  'truncated-at-eof.flow:5:3: error: invalid UTF-8 byte 0xf0 [FC002]'
exact continuation-string 'flow "t"\nnode start {\n  say "\x80\xbf"\n}\n' \
  'continuation-string.flow:3:8: error: invalid UTF-8 byte 0x80 [FC002]'
exact continuation-comment 'flow "t"\nnode start {\n  end # \x80\n}\n' \
  'continuation-comment.flow:3:9: error: invalid UTF-8 byte 0x80 [FC002]'
exact continuation-code 'flow "t"\nnode start {\n  say "x" \x80\n}\n' \
  'continuation-code.flow:3:11: error: invalid UTF-8 byte 0x80 [FC002]'
exact surrogate-string 'flow "t"\nnode start {\n  say "\xed\xa0\x80"\n}\n' \
  'surrogate-string.flow:3:8: error: invalid UTF-8 byte 0xed [FC002]'
exact beyond-unicode-string 'flow "t"\nnode start {\n  say "\xf4\x90\x80\x80"\n}\n' \
  'beyond-unicode-string.flow:3:8: error: invalid UTF-8 byte 0xf4 [FC002]'

# Deep nesting: one clear limit error, nothing else.
big nested-if only FC031 'nested' <<'PY'
import sys
n = 10000
open(sys.argv[1], 'w').write('flow "t"\nnode start {\n' + 'if true {\n' * n + 'say "deep"\n' + '}\n' * n + '}\n')
PY
big nested-parens only FC031 'nested' <<'PY'
import sys
n = 10000
open(sys.argv[1], 'w').write('flow "t"\nvar n: number = 0\nnode start {\n  set n = ' + '(' * n + '1' + ')' * n + '\n  say "{n}"\n}\n')
PY
big nested-not only FC031 'nested' <<'PY'
import sys
n = 200000 # past the parser's stack as well as the expression limit
open(sys.argv[1], 'w').write('flow "t"\nnode start {\n  if ' + 'not ' * n + 'true {\n    say "x"\n  }\n}\n')
PY
# A 3-million-term sum on one line.
big long-sum only FC031 <<'PY'
import sys
open(sys.argv[1], 'w').write('flow "t"\nvar n: number = 0\nnode start {\n  set n = ' + '+'.join(['1'] * 3000000) + '\n  say "{n}"\n}\n')
PY
# 10 MB lines: a string too long for the bytecode format, garbage of every
# byte value (NULs inside a comment or string included), and ASCII junk.
big say-10mb only FC031 <<'PY'
import sys
open(sys.argv[1], 'w').write('flow "t"\nnode start {\n  say "' + 'a' * 10000000 + '"\n}\n')
PY
big garbage-10mb has FC002 <<'PY'
import sys
junk = bytes(b for b in range(256) if b != 10) * (10000000 // 255 + 1)
open(sys.argv[1], 'wb').write(b'flow "t"\nnode start {\n  say "hi"\n' + junk[:10000000] + b'\n}\n')
PY
big junk-10mb has 'FC005 FC031' 'too many diagnostics' <<'PY'
import sys
junk = (b'x = ) ( 1a + } { ; -> @ $ ' * 400000)[:10000000]
open(sys.argv[1], 'wb').write(b'flow "t"\nnode start {\n  say "hi"\n' + junk + b'\n}\n')
PY
big long-name only FC014 "unknown node 'aaaa" <<'PY'
import sys
open(sys.argv[1], 'w').write('flow "t"\nnode start {\n  goto ' + 'a' * 10000000 + '\n}\n')
PY
big many-lines only FC014 <<'PY'
import sys
open(sys.argv[1], 'w').write('flow "t"\n' + '\n' * 10000000 + 'node start {\n  goto nowhere\n}\n')
PY
# A number literal past the range of a double.
big huge-number only FC030 <<'PY'
import sys
open(sys.argv[1], 'w').write('flow "t"\nvar n: number = ' + '9' * 400 + '\nnode start {\n  say "{n}"\n}\n')
PY
# More variables than the bytecode holds, none of them read: the error must
# not be lost among the warnings.
big too-many-variables has FC031 'too large for the bytecode format' <<'PY'
import sys
vars = ''.join(f'var v{i}: number = 0\n' for i in range(65536))
open(sys.argv[1], 'w').write('flow "t"\n' + vars + 'node start {\n  end\n}\n')
PY

finish
