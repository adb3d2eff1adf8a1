#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
exec "$BASH" "${BASH_SOURCE[0]%/*}/ensure-tool.sh" "${VACDEMO_CHROMIUM:-/usr/bin/chromium}" chromium VACDEMO_CHROMIUM "the browser tests"
