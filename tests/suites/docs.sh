#!/usr/bin/env bash
# Generated documentation must match the tables it is generated from.
set -u
build=$1
p=0; f=0
check() { # NAME FILE COMMAND...
  local name=$1 file=$2; shift 2
  if diff -u "$file" <("$@") >/dev/null; then p=$((p+1)); else f=$((f+1)); echo "FAIL $name: $file is out of date; regenerate with: $*"; fi
}
check diagnostics docs/diagnostics.md "$build/flowc" --list-codes
check bytecode docs/bytecode.md "$build/flowc" --list-opcodes
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
