#!/usr/bin/env bash
# The same packaged component (models/breast-cancer) under every runtime we have, measured
# in one run with the same client: `host serve`, `wasmtime serve -Scli`, `spin up`,
# workerd and Node (edge/). Every one gives each request a fresh instance (our host,
# wasmtime serve and Spin by design; edge/src/function.js does it on workerd and Node).
#
# Per runtime: time from start until the port accepts, the first request's latency
# (curl), then wrk over keep-alive connections posting one holdout row: c=1 (p50, p99,
# req/s) and c=8 (req/s, p99), DURATION seconds each (default 10) after a 2 s warm-up.
# Runtimes that are not installed are skipped and said so. The first row is the floor of
# this machine: host/examples/http_floor.rs, our serving threads answering a fixed body
# without any instance. Result table:
# bench/results/side_by_side.txt.
#   DURATION=10 bench/side_by_side.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
duration="${DURATION:-10}"
out="bench/results/side_by_side.txt"
work="$root/target/bench-side-by-side"
tools="$root/../shared/tools"
command -v wrk >/dev/null || { echo "wrk is needed (Debian package wrk)"; exit 2; }
mkdir -p "$work"

nice -n 19 cargo build --release -p host -q
nice -n 19 cargo build --release -p host --example http_floor -q
wasm="$work/breast-cancer.wasm"
./target/release/host package models/breast-cancer -o "$wasm" >/dev/null

# One holdout row as the request, for curl and for wrk.
python3 - "$work" <<'PY'
import json, sys
ref = json.load(open("models/breast-cancer/reference.json"))
body = json.dumps({"features": ref["rows"][0]["features"]})
open(f"{sys.argv[1]}/row.json", "w").write(body)
open(f"{sys.argv[1]}/post_row.lua", "w").write(f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.3f %.3f %.1f %d\\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
""")
PY

edge=""
if command -v node >/dev/null; then
  modules="$(tests/tools/edge-npm.sh)"
  MLFN_EDGE_NODE_MODULES="$modules" node edge/build.mjs "$wasm" "$work/edge" >/dev/null
  edge="$work/edge"
fi

port=18600
pid=""
stop() {
  if [ -n "$pid" ]; then
    kill -INT -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
trap stop EXIT

# start NAME CMD...: runs CMD in its own process group on 127.0.0.1:$port.
start() {
  local name="$1"; shift
  setsid "$@" >"$work/$name.log" 2>&1 &
  pid=$!
}

# measure NAME: the runtime just started on $port.
measure() {
  local name="$1" t0="$2" url="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.01
  done
  local listening first c1 c8
  listening=$(python3 -c "import time; print(f'{(time.time() - $t0) * 1000:.0f}')")
  first=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$url/predict" \
    -H 'content-type: application/json' --data @"$work/row.json")
  [ "${first%% *}" = 200 ] || { echo "$name: first /predict answered ${first%% *}"; return 1; }
  first=$(python3 -c "print(f'{${first#* } * 1000:.1f}')")
  wrk -t1 -c1 -d2s -s "$work/post_row.lua" "$url/predict" >/dev/null
  c1=$(wrk -t1 -c1 -d"${duration}s" -s "$work/post_row.lua" "$url/predict" | tee "$work/$name.c1.txt" | awk '/^RESULT/ {print $2, $3, $4, $5}')
  c8=$(wrk -t2 -c8 -d"${duration}s" -s "$work/post_row.lua" "$url/predict" | tee "$work/$name.c8.txt" | awk '/^RESULT/ {print $2, $3, $4, $5}')
  for f in "$work/$name.c1.txt" "$work/$name.c8.txt"; do
    if grep -q "Non-2xx" "$f"; then echo "$name: $(grep Non-2xx "$f") in $f"; return 1; fi
  done
  read -r p50 p99 rps1 err1 <<<"$c1"
  read -r _ p99_8 rps8 err8 <<<"$c8"
  printf '| %-22s | %8s | %8s | %7s | %7s | %8s | %8s | %8s |\n' \
    "$name" "$listening" "$first" "$p50" "$p99" "$rps1" "$rps8" "$p99_8" >>"$work/table.txt"
  [ "$err1$err8" = 00 ] || echo "$name: socket errors c=1 $err1, c=8 $err8" >>"$work/notes.txt"
}

now() { python3 -c 'import time; print(time.time())'; }
: >"$work/table.txt"
: >"$work/notes.txt"
run() {
  local name="$1"; shift
  port=$((port + 1))
  local t0; t0=$(now)
  start "$name" "$@"
  measure "$name" "$t0" || echo "$name: failed (log: $work/$name.log)" >>"$work/notes.txt"
  stop
}

# The floor: the same serving threads and hyper with a fixed answer and no instance.
run "floor (hyper, no wasm)" ./target/release/examples/http_floor "127.0.0.1:$((port + 1))"
run "host serve" ./target/release/host serve "$wasm" --listen "127.0.0.1:$((port + 1))"
if [ -x "$tools/wasmtime" ]; then
  run "wasmtime serve -Scli" "$tools/wasmtime" serve -Scli --addr "127.0.0.1:$((port + 1))" "$wasm"
else echo "wasmtime: $tools/wasmtime is not here, skipped" >>"$work/notes.txt"; fi
if [ -x "$tools/spin" ]; then
  (cd "$work" && run "spin up" "$tools/spin" up --listen "127.0.0.1:$((port + 1))" -f "$wasm")
  port=$((port + 1))
else echo "spin: $tools/spin is not here, skipped" >>"$work/notes.txt"; fi
if [ -n "$edge" ]; then
  run "workerd (jco)" "$modules/.bin/workerd" serve "$edge/workerd.capnp" --socket-addr "http=127.0.0.1:$((port + 1))"
  run "node $(node --version) (jco)" node "$edge/node.mjs" --listen "127.0.0.1:$((port + 1))"
else echo "workerd, node: node is not installed, skipped" >>"$work/notes.txt"; fi

{
  echo "# bench/side_by_side.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), DURATION=${duration}s per load level"
  echo "# machine: $(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# component: models/breast-cancer packaged ($(stat -c %s "$wasm") bytes); request: POST /predict, one holdout row"
  echo "# listening: start -> port accepts (ms); first: the first request's latency (curl, ms);"
  echo "# c=1: wrk 1 connection (p50/p99 ms, req/s); c=8: wrk 8 connections, 2 threads (req/s, p99 ms)"
  echo
  printf '| %-22s | %8s | %8s | %7s | %7s | %8s | %8s | %8s |\n' runtime listening first "c=1 p50" "c=1 p99" "c=1 rps" "c=8 rps" "c=8 p99"
  echo "| ---------------------- | -------- | -------- | ------- | ------- | -------- | -------- | -------- |"
  cat "$work/table.txt"
  if [ -s "$work/notes.txt" ]; then echo; sed 's/^/note: /' "$work/notes.txt"; fi
} | tee "$out"
