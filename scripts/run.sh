#!/usr/bin/env bash
# Runs the product: installs what it needs, builds the UI and the app, starts a local sync server with the demo
# team, then the desktop app signed out (choose "Try the demo team"). Stop with Ctrl-C or by closing the window.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build-ui.sh >/dev/null
cargo build --release -p liveline-sync-server -p liveline-app

DATA="${LIVELINE_HOME:-$HOME/.local/share/liveline-dev}"
mkdir -p "$DATA"
ADDR="${LIVELINE_ADDR:-127.0.0.1:8787}"
./target/release/sync-server --demo --addr "$ADDR" --data-dir "$DATA/server" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://$ADDR/health" >/dev/null && break; sleep 0.1; done

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display found; starting the app on a virtual display :98 (screenshots: xwd -root -display :98)" >&2
  Xvfb :98 -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
  XVFB=$!
  trap 'kill $SERVER $XVFB 2>/dev/null || true' EXIT
  export DISPLAY=:98
  sleep 1
fi
LIVELINE_SERVER="http://$ADDR" ./target/release/liveline
