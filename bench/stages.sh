#!/usr/bin/env bash
# The pipeline's own code natively and inside wasm, without the component boundary:
# pipeline/examples/stages.rs built for the host and for wasm32-wasip2 (same crate, same
# release profile) and run under `wasmtime run` (../shared/tools/wasmtime, or the one on
# PATH), in turn, ROUNDS times per bundle. Each line: the median µs of one call per stage
# and of the whole `predict_typed` (named features) and `predict_rows` (numbers in
# feature order), for one row and a batch of 256. Result: bench/results/stages.txt.
#   ROUNDS=2 bench/stages.sh models/breast-cancer models/penguins
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-2}"
out="bench/results/stages.txt"
wasmtime="../shared/tools/wasmtime"
[ -x "$wasmtime" ] || wasmtime="$(command -v wasmtime)" || { echo "wasmtime (the CLI) is needed"; exit 2; }
bundles=("$@")
[ ${#bundles[@]} -gt 0 ] || bundles=(models/breast-cancer models/penguins)
nice -n 19 cargo build --release -q -p pipeline --example stages
nice -n 19 cargo build --release -q -p pipeline --example stages --target wasm32-wasip2
native=target/release/examples/stages
wasm=target/wasm32-wasip2/release/examples/stages.wasm
{
  echo "# bench/stages.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $("$wasmtime" --version)"
  echo "# machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for b in "${bundles[@]}"; do
    for r in $(seq "$rounds"); do
      echo "## $b, round $r, native"
      "$native" "$b"
      echo "## $b, round $r, wasm (wasmtime run)"
      "$wasmtime" run --dir models "$wasm" "$b"
    done
  done
} | tee "$out"
