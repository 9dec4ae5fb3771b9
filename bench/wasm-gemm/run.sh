#!/usr/bin/env bash
# tract's wasm GEMM kernel vs the register-fitted one (src/rotation.rs), per k, under
# wasmtime-cli 48.0.8 (../shared/tools/wasmtime) without and with epoch interruption
# (`-W timeout`, as our host, Spin and `wasmtime serve --timeout` run guests)
# → bench/results/wasm_gemm.txt. A quiet machine gives comparable figures.
#
# Why it is a benchmark and not in the guest (2026-11-28): registered with tract as a
# dispatch tier in the guest, the rotation kernel made magika's whole request slower
# (network_bench, same run: 41.6 ms with tract's kernel, 52.8 ms with it), because our
# host interrupts by epoch and the kernel then spills (the second table). Unrolled by
# two it wins 7-10% at k >= 256 under epochs and loses at small k and without epochs:
# not worth a kernel of our own. tract's kernel itself loses 18% to the epoch checks.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wasmtime="${WASMTIME:-$here/../../../shared/tools/wasmtime}"
rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
(cd "$here" && CARGO_ENCODED_RUSTFLAGS=-Ctarget-feature=+simd128 \
    cargo build -q --release --target wasm32-wasip1)
wasm="$here/target/wasm32-wasip1/release/wasm-gemm.wasm"
{
    echo "# bench/wasm-gemm/run.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "## wasmtime run (no interruption)"
    "$wasmtime" run "$wasm"
    echo "## wasmtime run -W timeout=600s (epoch interruption: a check at every loop back edge)"
    "$wasmtime" run -W timeout=600s "$wasm"
} | tee "$here/../results/wasm_gemm.txt"
