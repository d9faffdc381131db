#!/usr/bin/env bash
# Builds the Liveline wasm UI into ui/dist/: index.html, style.css and pkg/ (wasm-bindgen output, --target web).
# Idempotent. Installs wasm-bindgen-cli at the exact version of the wasm-bindgen crate in Cargo.lock if needed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=wasm32-unknown-unknown
# Honour a custom target dir if one is set; default to the workspace's.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DIST="$ROOT/ui/dist"

echo "==> rustup target add $TARGET"
rustup target add "$TARGET"

echo "==> cargo build -p liveline-ui --target $TARGET --release"
cargo build -p liveline-ui --target "$TARGET" --release

# The wasm-bindgen CLI must match the wasm-bindgen crate exactly.
WB_VERSION="$(awk '
  $0 == "[[package]]" { in_wb = 0 }
  $0 == "name = \"wasm-bindgen\"" { in_wb = 1; next }
  in_wb && /^version = / { gsub(/"/, "", $3); print $3; exit }
' "$ROOT/Cargo.lock")"
if [ -z "$WB_VERSION" ]; then
  echo "error: no wasm-bindgen package in Cargo.lock" >&2
  exit 1
fi

INSTALLED=""
if command -v wasm-bindgen >/dev/null 2>&1; then
  INSTALLED="$(wasm-bindgen --version | awk '{print $2}')"
fi
if [ "$INSTALLED" != "$WB_VERSION" ]; then
  echo "==> cargo install wasm-bindgen-cli --version $WB_VERSION --locked (found: ${INSTALLED:-none})"
  if ! cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked; then
    # The registry may lack a version pinned in the CLI's own lock file (e.g. a yanked webpki-roots);
    # resolve its dependencies afresh, keeping the CLI version exact.
    echo "==> --locked install failed; retrying without --locked" >&2
    cargo install wasm-bindgen-cli --version "$WB_VERSION"
  fi
fi

echo "==> wasm-bindgen $WB_VERSION"
rm -rf "$DIST/pkg"
mkdir -p "$DIST/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$DIST/pkg" \
  "$TARGET_DIR/$TARGET/release/liveline_ui.wasm"

cp "$ROOT/ui/index.html" "$ROOT/ui/style.css" "$DIST/"

echo "==> UI ready in ui/dist/:"
ls -l "$DIST" "$DIST/pkg"
