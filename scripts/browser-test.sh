#!/usr/bin/env bash
# Browser test of the HUD (tests/hud.rs, `browser_shows_live_anomalies_as_text`):
# installs Debian's `chromium` when no browser is found, then runs the test with the
# browser required, which drives headless Chromium over the DevTools protocol against a
# live `trace-sentinel hud`, checks the feed and the hostile-text handling, and writes
# the laptop screenshot to docs/img/hud.png (override with HUD_SCREENSHOT=path).
#
# Usage: scripts/browser-test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

have_browser() {
    [ -n "${CHROMIUM:-}" ] && return 0
    for b in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$b" >/dev/null 2>&1 && return 0
    done
    return 1
}

if ! have_browser; then
    echo "browser-test: installing chromium (Debian package)" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

mkdir -p docs/img
export HUD_BROWSER_REQUIRED=1
export HUD_SCREENSHOT="${HUD_SCREENSHOT:-$PWD/docs/img/hud.png}"
cargo test --test hud "$@" browser_shows_live_anomalies_as_text -- --nocapture
echo "browser-test: screenshot at $HUD_SCREENSHOT" >&2
