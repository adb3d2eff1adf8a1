#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
# Installs it when missing and we are root with apt-get; otherwise says in one line what to run.
set -euo pipefail
CHROMIUM="${VACDEMO_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Chromium missing at $CHROMIUM: installing Debian's chromium (apt-get)…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] && exit 0
fi
echo "error: the browser tests need Chromium at $CHROMIUM: run 'sudo apt-get install chromium' (or set VACDEMO_CHROMIUM to a Chromium binary), then 'make test' again." >&2
exit 1
