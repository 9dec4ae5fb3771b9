#!/usr/bin/env bash
# How many pages the pooling allocator copies back into a slot per request (wasmtime's
# PAGEMAP_SCAN reset: a memmove per run of dirty pages), before and after one batch of 256
# rows lands in that slot. Counts the page-multiple memmoves of `host serve` through a
# `perf probe` on glibc's memmove (needs perf and root; the probe is removed at the end).
# Five `GET /health` per measurement, one connection at a time (the same slot).
#   bench/slot_pages.sh [COMPONENT.wasm]   (default: models/breast-cancer packaged)
set -euo pipefail
cd "$(dirname "$0")/.."
work="target/bench-slot-pages"
mkdir -p "$work"
cargo build --release -q -p host
wasm="${1:-$work/breast-cancer.wasm}"
[ -n "${1:-}" ] || ./target/release/host package models/breast-cancer -o "$wasm" >/dev/null 2>&1
libc="$(ldd target/release/host | awk '/libc.so.6/ {print $3}')"
# glibc's memmove on this machine (an AVX-512 CPU); elsewhere, the variant perf lists.
memmove="${MEMMOVE:-__memmove_avx512_unaligned_erms}"
perf probe -q -d "probe_libc:$memmove" >/dev/null 2>&1 || true
perf probe -q -x "$libc" "$memmove len=%dx:u64" >/dev/null \
  || { echo "perf probe on $memmove failed (set MEMMOVE to glibc's variant)"; exit 2; }
trap 'perf probe -q -d "probe_libc:*" >/dev/null 2>&1 || true; kill "$pid" 2>/dev/null || true' EXIT
python3 - "$work/batch256.json" <<'PY'
import json, sys
rows = [r["features"] for r in json.load(open("models/breast-cancer/reference.json"))["rows"]]
json.dump({"instances": (rows * 3)[:256]}, open(sys.argv[1], "w"))
PY
port=18790
./target/release/host serve "$wasm" --listen 127.0.0.1:$port >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
health() { for _ in $(seq "$1"); do curl -s -o /dev/null "http://127.0.0.1:$port/health"; done; }
measure() {
  perf record -q -e "probe_libc:$memmove" -p "$pid" -o "$work/probe.data" -- sleep 1.5 >/dev/null 2>&1 &
  local rec=$!
  sleep 0.4
  health 5
  wait "$rec"
  perf script -i "$work/probe.data" 2>/dev/null | python3 -c "
import re, sys
pages = sum(int(m.group(1)) // 4096 for m in map(re.compile(r'len=(\d+)').search, sys.stdin)
            if m and int(m.group(1)) % 4096 == 0 and int(m.group(1)) >= 4096)
print(f'$1: {pages / 5:.1f} pages copied back per request')"
}
echo "# bench/slot_pages.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(basename "$wasm"), Linux $(uname -r)"
health 3
measure "small requests"
curl -s -o /dev/null -X POST -H 'content-type: application/json' --data @"$work/batch256.json" "http://127.0.0.1:$port/predict"
measure "after one batch of 256 rows"
health 10
measure "after ten more small requests"
