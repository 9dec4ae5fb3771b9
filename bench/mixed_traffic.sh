#!/usr/bin/env bash
# Small requests at c=8 on a fresh server, then again after a burst of large ones: does a
# batch that ran in a slot slow the small requests that use that slot later? (The pool's
# PAGEMAP_SCAN reset copies back every page a slot has touched since its last decommit;
# bench/slot_pages.sh counts them.) Each round starts a fresh `host serve`:
#   1. wrk -c8 posting one holdout row                      -> "fresh"
#   2. 24 concurrent POST /predict of a 256-row batch, twice
#   3. the same wrk again                                   -> "after batches"
# Result: bench/results/mixed_traffic.txt.
#   bench/mixed_traffic.sh [COMPONENT.wasm]   ROUNDS=3 DURATION=4 (seconds per wrk run)
set -euo pipefail
cd "$(dirname "$0")/.."
work="target/bench-mixed"
mkdir -p "$work"
rounds="${ROUNDS:-3}"
duration="${DURATION:-4}"
command -v wrk >/dev/null || { echo "wrk is needed (Debian package wrk)"; exit 2; }
nice -n 19 cargo build --release -q -p host
wasm="${1:-$work/breast-cancer.wasm}"
[ -n "${1:-}" ] || ./target/release/host package models/breast-cancer -o "$wasm" >/dev/null 2>&1
python3 - "$work" <<'PY'
import json, sys
rows = [r["features"] for r in json.load(open("models/breast-cancer/reference.json"))["rows"]]
json.dump({"instances": (rows * 3)[:256]}, open(f"{sys.argv[1]}/batch256.json", "w"))
body = json.dumps({"features": rows[0]})
open(f"{sys.argv[1]}/post_row.lua", "w").write(f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000, summary.errors.status, summary.requests))
end
""")
PY
port=18791
pid=""
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true' EXIT
# The server's CPU time (user + system, clock ticks) so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# wrk at c=8: req/s, p99, non-2xx, and the server's CPU time per request, which the
# neighbours of a shared machine move less than throughput.
small() {
  local before after
  before=$(cpu_ticks)
  wrk -t2 -c8 -d"${duration}s" -s "$work/post_row.lua" "http://127.0.0.1:$port/predict" >"$work/wrk.txt"
  after=$(cpu_ticks)
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '/^RESULT/ {
    printf "%8.1f req/s, p99 %6.3f ms, non-2xx %s, server CPU %6.1f µs/request", $2, $3, $4, ticks / hz * 1e6 / $5 }' "$work/wrk.txt"
}
batches() {
  seq 24 | xargs -P 24 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
    -H 'content-type: application/json' --data @"$work/batch256.json" \
    "http://127.0.0.1:$port/predict" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}'
}
exec > >(tee bench/results/mixed_traffic.txt)
echo "# bench/mixed_traffic.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(basename "$wasm"), ${duration}s per wrk run, load $(cut -d' ' -f1 /proc/loadavg)"
for round in $(seq "$rounds"); do
  ./target/release/host serve "$wasm" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  wrk -t2 -c8 -d1s -s "$work/post_row.lua" "http://127.0.0.1:$port/predict" >/dev/null
  echo "round $round fresh:          $(small)"
  codes="$(batches; batches)"
  echo "round $round after batches:  $(small)   (batches: $codes)"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
