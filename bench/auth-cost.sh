#!/usr/bin/env bash
# The cost of authentication per request, in-process, release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p roster --example auth_cost
