#!/usr/bin/env bash
# Every bundle under models/ packaged with an empty cache (`host package`, which picks the
# guest by the bundle's kind): the guest it went into, the component's size and gzip
# size, and the package time (snapshot + every reference row or sample through the
# component). Writes bench/results/component_sizes.txt.
# Needs the host built (cargo build --release -p host). Bounded: a timeout per bundle.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
host="${HOST:-$root/target/release/host}"
out="$root/bench/results/component_sizes.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export MLFN_CACHE_DIR="$work/cache"

size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

{
    echo "# bench/component_sizes.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
    for g in guest guest-tabular; do
        f="$root/target/guests/$g.wasm"
        echo "guest $g.wasm: $(mb "$(size "$f")") MB, gzip $(mb "$(gz "$f")") MB"
    done
    printf '%-22s %-10s %10s %10s %9s\n' bundle kind "MB" "gzip MB" "package s"
    for dir in "$root"/models/*/; do
        [[ -f "$dir/manifest.json" ]] || continue
        name="$(basename "$dir")"
        kind="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("kind", "tabular"))' "$dir/manifest.json")"
        [[ -x "$dir/fetch.sh" ]] && "$dir/fetch.sh" > /dev/null
        start=$(date +%s.%N)
        timeout 600 "$host" package "$dir" -o "$work/$name.wasm" 2> "$work/$name.log" \
            || { echo "$name: package failed"; cat "$work/$name.log"; continue; }
        secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
        printf '%-22s %-10s %10s %10s %9s\n' "$name" "$kind" "$(mb "$(size "$work/$name.wasm")")" \
            "$(mb "$(gz "$work/$name.wasm")")" "$secs"
    done
} | tee "$out"
