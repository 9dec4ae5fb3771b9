#!/usr/bin/env bash
# File-type (magika) figures → bench/results/media.txt: guest and component size, package
# time, instantiate, warm prediction in wasm vs native tract vs onnxruntime (magika's own
# session), on the parity corpus (models/magika/corpus.sh). Run on a quiet machine for
# figures to compare; the load average is recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-300}"
python="$(models/magika/venv.sh)"
corpus=target/magika-corpus/expected.json
[[ -f $corpus ]] || models/magika/corpus.sh "$corpus"
out=bench/results/media.txt
{
    echo "# bench/media.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# guest before this branch (tabular only): 703060 bytes (target/guest-build, main at c932808)"
    cargo run -q --release -p host --example media_bench -- models/magika "$corpus" "$n"
    "$python" bench/media_onnxruntime.py "$corpus" "$n"
} | tee "$out"
