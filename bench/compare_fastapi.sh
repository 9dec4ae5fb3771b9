#!/usr/bin/env bash
# Peer comparison: the textbook FastAPI service (bench/fastapi_app.py, uvicorn, one
# worker) and our `host serve` (pre-initialised component, fresh instance per request),
# same model (breast-cancer), same request, same load generator (wrk) on 127.0.0.1.
# Bounded: SECONDS_EACH (default 15) per server, CONNECTIONS (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SECONDS_EACH:-15}"
conns="${CONNECTIONS:-8}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || true; }
command -v wrk >/dev/null || { echo "wrk is needed (Debian package wrk)"; exit 2; }

venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r bench/requirements.txt
# The same Pipeline the bundle was trained as (same data, split and seed), joblib-dumped.
"$venv/bin/python" - <<'PY'
import sys; sys.path.insert(0, "models")
import joblib, train
from sklearn.model_selection import train_test_split
frame, target, _task, _source = train.breast_cancer()
x, y = frame.drop(columns=target), frame[target]
x_train, _, y_train, _ = train_test_split(x, y, test_size=train.HOLDOUT_FRACTION, random_state=train.SEED, stratify=y)
pipe = train.m_breast_cancer().fit(x_train, y_train)
joblib.dump(pipe, "target/bench-breast-cancer.joblib")
PY
body=$(python3 -c 'import json; r=json.load(open("models/breast-cancer/reference.json")); print(json.dumps({"features": r["rows"][0]["features"]}))')
lua=$(mktemp); trap 'rm -f "$lua"; kill $(jobs -p) 2>/dev/null || true' EXIT
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
LUA

cargo build --release -p host -q
MANIFEST=models/breast-cancer/manifest.json MODEL_PATH=target/bench-breast-cancer.joblib \
  "$venv/bin/uvicorn" --app-dir bench fastapi_app:app --host 127.0.0.1 --port 8071 --workers 1 --log-level warning &
./target/release/host serve --listen 127.0.0.1:8072 2>/dev/null &
for port in 8071 8072; do
  for _ in $(seq 1 240); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.5; done
  # The two must agree before they are timed.
  curl -sf -X POST "localhost:$port/predict" -H 'content-type: application/json' -d "$body" \
    | python3 -c 'import json,sys; p=json.load(sys.stdin)["predictions"][0]; print("  port", sys.argv[1], p["label"], round(p["confidence"], 6))' "$port"
done

run() { wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$lua" "http://127.0.0.1:$1/predict"; }
parse() { python3 -c '
import re,sys
t=sys.stdin.read()
rps=float(re.search(r"Requests/sec:\s+([\d.]+)",t).group(1))
def ms(tag):
    m=re.search(r"\s"+str(tag)+r"%\s+([\d.]+)(us|ms|s)\b",t); v=float(m.group(1)); return v/1000 if m.group(2)=="us" else v*1000 if m.group(2)=="s" else v
non=re.search(r"Non-2xx or 3xx responses: (\d+)",t)
print(f"{rps:.0f} {ms(50):.3f} {ms(99):.3f} {non.group(1) if non else 0}")'; }
echo "wrk: $conns connections, ${seconds}s each, POST /predict (one breast-cancer row)"
read -r f_rps f_p50 f_p99 f_non < <(run 8071 | parse)
read -r w_rps w_p50 w_p99 w_non < <(run 8072 | parse)
printf '%-28s %10s %10s %10s %8s\n' server req/s p50_ms p99_ms non2xx
printf '%-28s %10s %10s %10s %8s\n' "FastAPI+uvicorn (1 worker)" "$f_rps" "$f_p50" "$f_p99" "$f_non"
printf '%-28s %10s %10s %10s %8s\n' "host serve (wasm)" "$w_rps" "$w_p50" "$w_p99" "$w_non"
python3 -c "print(f'throughput ratio: {$w_rps/$f_rps:.1f}x')"
