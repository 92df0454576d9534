#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing.
# Used by `make run`, `make test` and CI; needs root or sudo for apt-get.
set -eu
pkgs="build-essential flex bison clang libclang-rt-14-dev libcmocka-dev graphviz tzdata valgrind
      libsqlite3-dev libcjson-dev libcivetweb-dev libsodium-dev python3
      chromium fonts-dejavu-core libgeoip-dev geoip-database"
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
