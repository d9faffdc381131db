#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what it needs, builds the UI once, then runs every test of the
# workspace in one cargo pass (unit, integration against a real server, the real binary's smoke test, and the
# end-to-end tests that drive the real app window under Xvfb with tauri-driver, in a private D-Bus session).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase says when it starts, so a slow cold run shows where its time went.
phase() { echo "==> $(date +%T) $*"; }

phase setup
bash scripts/setup.sh
# A clean clone builds once: incremental state would only cost time and disk (several GiB) there.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
phase ui
bash scripts/build-ui.sh >/dev/null

# One virtual display for the end-to-end tests, unless one is already there.
if [ -z "${DISPLAY:-}" ]; then
  export DISPLAY=:97
  if ! xdpyinfo -display "$DISPLAY" >/dev/null 2>&1; then
    Xvfb "$DISPLAY" -screen 0 1280x900x24 -nolisten tcp >/tmp/liveline-xvfb.log 2>&1 &
    XVFB_PID=$!
    trap 'kill $XVFB_PID 2>/dev/null || true' EXIT
    for _ in $(seq 50); do xdpyinfo -display "$DISPLAY" >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi
export LIVELINE_ARTIFACTS="${LIVELINE_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$LIVELINE_ARTIFACTS"

phase fmt
cargo fmt --all --check
# A private D-Bus session for the app's OS notifications; the end-to-end test reads what reached the
# notification service from the monitor's log.
export LIVELINE_DBUS_LOG="$LIVELINE_ARTIFACTS/notifications.log"
: > "$LIVELINE_DBUS_LOG"
# The bus starts no services on demand (scripts/dbus-session.conf): no keychain appears unasked.
phase "cargo test (build and run)"
dbus-run-session --config-file=scripts/dbus-session.conf -- bash -c '
  stdbuf -oL dbus-monitor "interface=org.freedesktop.Notifications" > "$LIVELINE_DBUS_LOG" 2>/dev/null &
  cargo test --workspace --exclude liveline-ui --no-fail-fast
' 

# The fuzz targets, briefly (20 s each from the kept corpus), so they keep building and the corpus keeps passing.
phase fuzz
bash scripts/fuzz.sh 20
phase done
