#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each from its kept corpus for SECS seconds (default 20; the test
# command runs this briefly so the targets keep building; run `bash scripts/fuzz.sh 1800` for half an hour each).
# A crash stops the run and leaves the input in fuzz/artifacts/<target>/; turn it into a test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
secs="${1:-20}"
cd fuzz
# cargo fuzz passes sanitizer flags that rustc takes from nightly builds only; this machine has the stable
# toolchain, which accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
# The test command's short runs only keep the targets building and the corpus passing: an unoptimised build is
# ready in a third of the time (3 min instead of 8 on two cores). Longer runs are optimised, to explore.
mode=(-O)
if [ "$secs" -lt 600 ]; then
  mode=(--dev)
  # Line tables are enough for a crash's backtrace, and keep the build a gigabyte smaller than full debug info.
  export CARGO_PROFILE_DEV_DEBUG=line-tables-only
fi
cargo fuzz build "${mode[@]}"
# Short runs (the test command's) leave the kept corpora as committed: what they find goes to a scratch folder.
# Runs of ten minutes or more add to the kept corpora (minimize them with `cargo fuzz cmin` before committing).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in decode bounds ingest replica_import; do
  mkdir -p "corpus/$t" "$scratch/$t"
  echo "fuzz $t: ${secs}s"
  dirs=("corpus/$t")
  if [ "$secs" -lt 600 ]; then dirs=("$scratch/$t" "corpus/$t"); fi
  cargo fuzz run "${mode[@]}" "$t" "${dirs[@]}" -- -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::new_units_added)|ERROR|panicked' || true
  if [ -n "$(ls -A "artifacts/$t" 2>/dev/null)" ]; then
    echo "fuzz $t found a crash: $(ls "artifacts/$t")" >&2
    exit 1
  fi
done
