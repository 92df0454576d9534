#!/usr/bin/env bash
# Checks the SARIF that `flowc check --diagnostics=sarif` writes against the
# SARIF 2.1.0 schema and, if it is installed, the SARIF SDK's validator (see
# validate.mjs). Three logs are written from inputs made here:
#   full    several files: notes; messages with braces, quotes, backslashes
#           and characters that are shown replaced (a bidi override, a tab,
#           invalid UTF-8); paths that need percent-encoding (a space, ':',
#           '#', '%', non-ASCII, an absolute path); and a file past the
#           per-file limit of diagnostics (the summary result)
#   empty   a file without diagnostics (no results)
#   werror  warnings only, under -Werror (results of level error)
# Installs the npm packages of this folder from package-lock.json on first
# use; SARIF_MULTITOOL=0 leaves the Multitool out (tests/suites/diag.sh does).
# usage: tests/sarif/run.sh [BUILD_DIR]      (BUILD_DIR defaults to build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
flowc="$build/flowc"
[ -x "$flowc" ] || { echo "run.sh: no $flowc (run make first)" >&2; exit 2; }
out=$(mktemp -d "$build/sarif.XXXXXX")
[ "${SARIF_KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT
[ -d "$here/node_modules" ] || (cd "$here" && npm ci --no-audit --no-fund)

in="$out/in"
mkdir -p "$in/sub dir"
{
  printf 'flow "demo"\n'
  printf '# caf\xff\n'                                    # invalid UTF-8
  printf 'hours "Europe/\xe2\x80\xaeWarsaw\t" {\n  mon 09:00-17:00\n}\n' # bidi override, tab
  printf 'var spare: text = ""\n'                         # warning
  printf 'node start {\n'
  printf '  say "Hi {name"\n'                             # braces in the message
  printf '  say "a\\q"\n'                                 # quotes and backslashes in the message
  printf '  lead { name: "a", name: "b" }\n'              # a note
  printf '}\n'
} >"$in/my demo.flow"
printf 'flow "c"\nnode start {\n  goto nowhere\n}\nnode start {\n  end\n}\n' >"$in/sub dir/c:d#1.flow"
printf 'flow "e"\nnode start {\n  end\n}\nnode \xc3\xa9t\xc3\xa9 {\n  end\n}\n' >"$in/été.flow"
printf 'flow "p"\nnode start {\n  goto start\n}\n' >"$in/100%.flow"
printf 'flow "abs"\nvar x: number = 0\nnode start {\n  set x = "one"\n  say "{x}"\n}\n' >"$in/abs.flow"
{ printf 'flow "flood"\nnode start {\n  say "hi"\n'; head -c 1500 /dev/zero | tr '\0' '@'; printf '\n}\n'; } >"$in/flood.flow"
printf 'flow "ok"\nvar name: text = ""\nnode start {\n  ask name "Name?"\n  say "Hi {name}"\n}\n' >"$in/clean.flow"
printf 'flow "w"\nvar spare: number = 0\nnode start {\n  end\n}\nnode orphan {\n  end\n}\n' >"$in/warnings.flow"

# sarif NAME EXIT ARGS...: flowc check --diagnostics=sarif ARGS > NAME.sarif,
# which must exit EXIT.
sarif() {
  local name=$1 want=$2 rc=0; shift 2
  (cd "$in" && "$flowc" check --diagnostics=sarif "$@") >"$out/$name.sarif" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "run.sh: flowc exited $rc for the $name log, expected $want" >&2
    exit 1
  fi
}
sarif full 1 "my demo.flow" "./sub dir/c:d#1.flow" "été.flow" "100%.flow" "$in/abs.flow" flood.flow
sarif empty 0 clean.flow
sarif werror 1 -Werror warnings.flow

# What the logs must hold, beyond the schema: a result from every file of the
# full log (the summary of the flood among them), none in the empty one, and
# only errors under -Werror.
node - "$out" <<'JS'
const { readFileSync } = require('node:fs');
const dir = process.argv[2];
const results = (name) => JSON.parse(readFileSync(`${dir}/${name}.sarif`, 'utf8')).runs[0].results;
const problems = [];
const uris = new Set(results('full').map((r) => r.locations[0].physicalLocation.artifactLocation.uri));
for (const want of ['my%20demo.flow', 'sub%20dir/c%3Ad%231.flow', '%C3%A9t%C3%A9.flow', '100%25.flow', 'flood.flow'])
  if (!uris.has(want)) problems.push(`full: no result in ${want} (have ${[...uris].join(', ')})`);
if (![...uris].some((u) => u.startsWith('file:///') && u.endsWith('/abs.flow'))) problems.push('full: no file:// URI for abs.flow');
if (!results('full').some((r) => r.message.text.startsWith('too many diagnostics'))) problems.push('full: no summary result');
if (!results('full').some((r) => r.relatedLocations?.length)) problems.push('full: no related locations (notes)');
if (results('empty').length !== 0) problems.push('empty: has results');
const w = results('werror');
if (w.length === 0 || w.some((r) => r.level !== 'error')) problems.push('werror: expected results of level error only');
for (const p of problems) console.log(`run.sh: ${p}`);
process.exit(problems.length ? 1 : 0);
JS
node "$here/validate.mjs" "$out/full.sarif" "$out/empty.sarif" "$out/werror.sarif"
