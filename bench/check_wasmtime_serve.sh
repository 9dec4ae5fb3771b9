#!/usr/bin/env bash
# Checks that the very same guest.wasm (plain, and pre-initialised by `host prepare`)
# answers under `wasmtime serve` (wasmtime-cli 48.0.x) as under our host: every holdout
# row of the default bundle against sklearn's probabilities. Bounded: ~1 minute.
#   cargo install wasmtime-cli --version 48.0.8 --locked   # once, ~15 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wasmtime >/dev/null || { echo "wasmtime not on PATH (see the comment above)"; exit 2; }
cargo build --release -p host
wasm=target/guests/breast-cancer.wasm
snapshot=target/guests/breast-cancer.snapshot.wasm
./target/release/host prepare "$wasm" -o "$snapshot"
port=3017
for component in "$wasm" "$snapshot"; do
  timeout 120 wasmtime serve -Scli --addr "127.0.0.1:$port" "$component" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.5; done
  python3 - "$port" "$component" <<'PY'
import json, sys, urllib.request
port, component = sys.argv[1], sys.argv[2]
ref = json.load(open("models/breast-cancer/reference.json"))
worst = 0.0
for row in ref["rows"]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/predict",
        data=json.dumps({"features": row["features"]}).encode(),
        headers={"content-type": "application/json"})
    p = json.load(urllib.request.urlopen(req))["predictions"][0]
    assert p["label"] == row["sklearn_label"], (p, row["sklearn_label"])
    got = [p["probabilities"][l] for l in ref["labels"]]
    worst = max(worst, max(abs(a - b) for a, b in zip(got, row["sklearn_proba"])))
assert worst <= 1e-5, worst
try:
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=b"{",
        headers={"content-type": "application/json"}))
    raise SystemExit("malformed JSON was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 400, e.code
print(f"wasmtime serve {component}: {len(ref['rows'])} rows match sklearn (max |dp| {worst:.1e}); 400 on bad JSON")
PY
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
