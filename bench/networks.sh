#!/usr/bin/env bash
# Figures of every network bundle (kinds file-type, text, image) → bench/results/networks.txt,
# in one run per bundle: component size (and gzip), package time, compile, instantiate from
# the snapshot, first and warm request in wasm, the same pipeline natively (tract), HTTP at
# c=1 and c=8 (host/examples/network_bench.rs), and onnxruntime with one thread on the same
# inputs, network alone and the whole Python pipeline (bench/networks_onnxruntime.py, in the
# bundle's own venv). Run on a quiet machine for figures to compare; the load is recorded.
#
#     bench/networks.sh [BUNDLE_DIR...]      (default: every network bundle under models/)
#     N=100 HTTP_SECONDS=10 bench/networks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-100}"
http_seconds="${HTTP_SECONDS:-10}"
out=bench/results/networks.txt
if [[ $# -eq 0 ]]; then
    for d in models/*/; do
        kind="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("kind", "tabular"))' "$d/manifest.json" 2>/dev/null || true)"
        [[ $kind == image || $kind == text || $kind == file-type ]] && set -- "$@" "${d%/}"
    done
fi
cargo build -q --release -p host --example network_bench
{
    echo "# bench/networks.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), N=$n, HTTP ${http_seconds} s per run"
    for dir in "$@"; do
        [[ -x $dir/fetch.sh ]] && "$dir/fetch.sh" >/dev/null
        [[ -x $dir/corpus.sh && ! -f target/$(basename "$dir")-corpus/expected.json ]] &&
            "$dir/corpus.sh" "target/$(basename "$dir")-corpus/expected.json" >/dev/null
        target/release/examples/network_bench "$dir" "$n" "$http_seconds"
        target/release/host package "$dir" -o "target/networks-bench.wasm" >/dev/null 2>&1
        echo "packaged component gzip -9: $(gzip -9c target/networks-bench.wasm | wc -c) bytes"
        "$("$dir/venv.sh")" bench/networks_onnxruntime.py "$dir" "$n"
    done
} | tee "$out"
