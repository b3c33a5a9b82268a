# Sourced by the scripts: one build cache outside the clone, kept between
# runs, so RocksDB (a long C++ build) is compiled once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata-target}"
STRATA="$CARGO_TARGET_DIR/release/strata"
