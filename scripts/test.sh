#!/usr/bin/env bash
# test.sh: the whole test suite (root): install what is missing, check formatting and lints, then run every unit and
# integration test with cargo-nextest (integration tests start real containers; see .config/nextest.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo nextest run --workspace --locked --profile ci
