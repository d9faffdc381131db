#!/usr/bin/env bash
# Installs what Liveline needs to build, run and test on Debian 12, idempotently: apt packages, the wasm target
# and tauri-driver. Nothing comes from outside the
# package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev libsoup-3.0-dev
  xvfb webkit2gtk-driver fonts-noto-cjk x11-utils imagemagick dbus-daemon dbus-bin
  # A real Secret Service for the device-token keychain test (crates/liveline-replica/tests/keychain.rs).
  gnome-keyring
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown

# The wasm-bindgen CLI is installed by scripts/build-ui.sh, at the version the UI build resolves.

command -v tauri-driver >/dev/null || cargo install tauri-driver --locked
# The fuzzer driver for the fuzz targets in fuzz/ (scripts/fuzz.sh).
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
