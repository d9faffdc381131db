#!/usr/bin/env bash
# Prints the benchmark figures, measured on loopback with a real server and real replicas, in a release build:
# first the form engine (a 50-line order validated and saved, a 200-decision approval log replayed), then
# capture, propagate, assign, reconnect, reconnect_idle and bootstrap (BENCH_DOCS sets the team size, default
# 100000), then the load generator's figures against the real sync-server binary: load (2,000 devices of 20
# teams at 200 edits/s), load_max and load_shared (50 devices editing the same 20 leads). LOAD_SECS sets each load
# phase's length (default 10). BENCH_SKIP_LOAD=1 leaves the load generator out.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p liveline-testkit --bin liveline-bench
if [ -z "${BENCH_SKIP_LOAD:-}" ]; then
  cargo build --release -q -p liveline-sync-server --bin sync-server
  cargo run --release -q -p liveline-testkit --bin liveline-load
fi
