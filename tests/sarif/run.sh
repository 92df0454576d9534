#!/usr/bin/env bash
# Checks fc_diag's SARIF output against the SARIF 2.1.0 schema and the SARIF
# SDK's validator (see validate.mjs): builds sarif_sample, writes three logs
# (full, empty, -Werror) and validates them. Installs the npm packages of
# this folder from package-lock.json on first use.
# usage: tests/sarif/run.sh [BUILD_DIR]      (BUILD_DIR defaults to build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="${1:-$root/build}/sarif"
mkdir -p "$out"
[ -d "$here/node_modules" ] || (cd "$here" && npm ci --no-audit --no-fund)
${CC:-gcc} -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$root/vm" -I"$root/compiler" \
  -o "$out/sarif_sample" "$here/sarif_sample.c" "$root/compiler/fc_diag.c"
for kind in full empty werror; do
  "$out/sarif_sample" "$kind" >"$out/$kind.sarif"
done
node "$here/validate.mjs" "$out/full.sarif" "$out/empty.sarif" "$out/werror.sarif"
