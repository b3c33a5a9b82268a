#!/usr/bin/env bash
# Sets up the machine and runs every check: formatting, lints, unit and
# integration tests (real FUSE mounts included). Everything builds in
# release mode, so RocksDB is compiled once for tests and binaries alike.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --release --workspace -- --test-threads=2 2>&1 | tee "$log"
# One closing line for the whole run.
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
