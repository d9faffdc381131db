#!/usr/bin/env bash
# Prints the benchmark figures (capture, propagate, reconnect, bootstrap, reconnect_idle), measured on loopback
# with a real server and real replicas, in a release build. BENCH_DOCS sets the team size (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p liveline-testkit --bin liveline-bench
