#!/usr/bin/env bash
# usage: ensure-tool.sh BINARY PACKAGE VARIABLE PURPOSE
# Leaves a present BINARY alone; installs Debian's PACKAGE when it is missing and we are root with apt-get;
# otherwise says in one line what to run (VARIABLE names the environment variable that points elsewhere).
set -euo pipefail
binary="$1" package="$2" variable="$3" purpose="$4"
[ -x "$binary" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "$package missing at $binary: installing Debian's $package (apt-get)…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  [ -x "$binary" ] && exit 0
fi
echo "error: $purpose need $package at $binary: run 'sudo apt-get install $package' (or set $variable to a $package binary), then 'make test' again." >&2
exit 1
