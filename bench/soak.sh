#!/usr/bin/env bash
# Load and soak: drives `host serve` on 127.0.0.1 with wrk for a bounded time, mixing
# valid single and batch requests with invalid ones (bad JSON, wrong types, out of range,
# unknown fields, wrong content type, unknown path, oversized batch), and reports:
# requests, responses by class, socket errors, latency percentiles, host RSS at start and
# end, and that the server still answers. DURATION (default 600 s), CONNECTIONS (8).
#
# Then the same load for DURATION/2 alone and DURATION/2 with SLOW (default 300) slow and
# idle clients beside it (bench/slow_clients.py: body trickled a byte a second, headers never
# finished, connections left idle), and the normal clients' latency in both phases side
# by side: slow clients must not move it, and nothing may be answered 5xx.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${DURATION:-600}"
conns="${CONNECTIONS:-8}"
port="${PORT:-8073}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || true; }
command -v wrk >/dev/null || { echo "wrk is needed (Debian package wrk)"; exit 2; }
cargo build --release -p host -q
./target/release/host serve --listen "127.0.0.1:$port" 2>/tmp/soak-serve.log &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$lua"' EXIT
for _ in $(seq 1 240); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.5; done

# Request bodies: the holdout rows, and a family of invalid ones.
lua=$(mktemp --suffix=.lua)
python3 - "$lua" <<'PY'
import json, sys
ref = json.load(open("models/breast-cancer/reference.json"))
rows = [r["features"] for r in ref["rows"]]
def lua_str(s): return "[==[" + s + "]==]"
reqs = []  # (method, path, content-type, body)
for r in rows[:40]:
    reqs.append(("POST", "/predict", "application/json", json.dumps({"features": r})))
reqs.append(("POST", "/predict", "application/json", json.dumps({"instances": rows[:32]})))
bad = dict(rows[0]); bad["mean_radius"] = "big"
far = dict(rows[0]); far["mean_area"] = 1e9
odd = dict(rows[0]); odd["colour"] = "red"
reqs += [
    ("POST", "/predict", "application/json", '{"features": {'),
    ("POST", "/predict", "application/json", json.dumps({"features": bad})),
    ("POST", "/predict", "application/json", json.dumps({"features": far})),
    ("POST", "/predict", "application/json", json.dumps({"features": odd})),
    ("POST", "/predict", "text/plain", json.dumps({"features": rows[1]})),
    ("POST", "/predict", "application/json", json.dumps({"instances": [rows[0]] * 300})),
    ("GET", "/nope", "application/json", ""),
    ("GET", "/health", "application/json", ""),
]
with open(sys.argv[1], "w") as f:
    f.write("local reqs = {\n")
    for m, p, ct, b in reqs:
        f.write(f'  {{"{m}", "{p}", "{ct}", {lua_str(b)}}},\n')
    f.write("}\n")
    f.write("""
local i = 0
request = function()
  i = i + 1
  local r = reqs[(i % #reqs) + 1]
  return wrk.format(r[1], r[2], {["Content-Type"] = r[3]}, r[4])
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, socket errors connect %d read %d write %d timeout %d\\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("latency p50 %.3f ms, p99 %.3f ms, max %.3f ms\\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
""")
PY
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
# Warm up, then measure memory from a steady state.
wrk -t2 -c"$conns" -d5s -s "$lua" "http://127.0.0.1:$port" >/dev/null
rss_start=$(rss)
echo "soak: ${duration}s, $conns connections, mixed valid/invalid requests; host RSS at start ${rss_start} kB"
wrk -t2 -c"$conns" -d"${duration}s" --timeout 5s -s "$lua" "http://127.0.0.1:$port" | tee /tmp/soak-wrk.txt | grep -E "requests|latency|Requests/sec|Non-2xx"
rss_end=$(rss)
curl -s "localhost:$port/metrics" | grep -E '^mlfn_requests_total' | sort > /tmp/soak-metrics.txt
echo "responses by route and status (from /metrics):"; sed 's/^/  /' /tmp/soak-metrics.txt
curl -sf "localhost:$port/health" >/dev/null && echo "server still healthy"
echo "host RSS: start ${rss_start} kB, end ${rss_end} kB (growth $(( rss_end - rss_start )) kB)"
echo "host log lines with panic|error: $(grep -c -i "panic\|error" /tmp/soak-serve.log || true)"

# Phase 2: the same load beside slow and idle clients.
slow="${SLOW:-300}"
half=$(( duration / 2 ))
[ "$half" -ge 5 ] || half=5
echo
echo "normal load for ${half}s beside $slow slow/idle connections (a third each: trickled body, unfinished headers, idle)"
wrk -t2 -c"$conns" -d"${half}s" --timeout 5s -s "$lua" "http://127.0.0.1:$port" | grep -E "requests|latency" | sed 's/^/  alone:  /'
python3 bench/slow_clients.py 127.0.0.1 "$port" "$slow" $(( half + 4 )) > /tmp/soak-slow.txt &
slow_pid=$!
sleep 2
wrk -t2 -c"$conns" -d"${half}s" --timeout 5s -s "$lua" "http://127.0.0.1:$port" | grep -E "requests|latency" | sed 's/^/  beside: /'
wait "$slow_pid"
sed 's/^/  /' /tmp/soak-slow.txt
curl -s "localhost:$port/metrics" | grep -E '^mlfn_requests_total\{.*status="5' | sed 's/^/  5xx: /' || true
echo "  5xx responses in all: $(curl -s "localhost:$port/metrics" | awk '/^mlfn_requests_total\{.*status="5/ {s += $2} END {print s + 0}')"
curl -sf "localhost:$port/health" >/dev/null && echo "  server still healthy"
echo "  host log lines with panic|error (both phases): $(grep -c -i "panic\|error" /tmp/soak-serve.log || true)"
