#!/usr/bin/env bash
# The shared conformance suite, run as given and again with --roundtrip
# (save and restore the state between every two steps of every transcript).
set -u
build=$1; shared=$2
suite="$shared/conformance"
if [ ! -x "$suite/run.sh" ]; then echo "no conformance suite at $suite: skipped"; echo "0 passed, 0 failed"; exit 0; fi
flowc=$(realpath "$build/flowc")
wrapper=$(mktemp -d)/flowc
trap 'rm -rf "$(dirname "$wrapper")"' EXIT
printf '#!/bin/sh\nif [ "$1" = test ]; then exec "%s" "$@" --roundtrip; fi\nexec "%s" "$@"\n' "$flowc" "$flowc" > "$wrapper"
chmod +x "$wrapper"
p=0; f=0
for bin in "$flowc" "$wrapper"; do
  out=$("$suite/run.sh" "$bin"); last=$(printf '%s\n' "$out" | tail -n 1)
  printf '%s\n' "$out" | grep '^FAIL' | sed "s|^|[$(basename "$(dirname "$bin")")] |"
  p=$((p + ${last%% passed*})); x=${last#*, }; f=$((f + ${x%% failed*}))
done
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
