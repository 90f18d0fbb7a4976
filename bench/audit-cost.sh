#!/usr/bin/env bash
# The cost of the audit log on user creation, SQLite and PostgreSQL, release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p roster --example audit_cost
