#!/usr/bin/env bash
# From a user's fitted pipeline (.joblib) to a served component, timed step by step:
# mlfn-pack, host package (snapshot + every reference row through the component), and
# the first `host serve` answer. A fresh compile cache, so nothing is reused.
# Needs the host built (cargo build --release -p host) and the pack venv
# (tests/tools/pack-venv.sh). Bounded: every step has a timeout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="$(bash "$root/tests/tools/pack-venv.sh")"
host="${HOST:-$root/target/release/host}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export MLFN_CACHE_DIR="$work/cache"

# The user's side: a pipeline fitted and saved with joblib, and a CSV of data.
"$py" - "$work" <<'PY'
import sys, joblib, numpy as np, palmerpenguins
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
work = sys.argv[1]
df = palmerpenguins.load_penguins()[["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                      "body_mass_g", "island", "sex", "species"]]
df = df.dropna(subset=["species"])
for c in ["island", "sex", "species"]:
    df[c] = df[c].astype(object).where(df[c].notna(), np.nan)
train, test = train_test_split(df, test_size=0.25, random_state=0, stratify=df["species"])
num = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
pipe = Pipeline([
    ("pre", ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), num),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]), ["island", "sex"]),
    ])),
    ("forest", RandomForestClassifier(n_estimators=100, random_state=0)),
]).fit(train.drop(columns="species"), train["species"])
joblib.dump(pipe, f"{work}/model.joblib")
test.to_csv(f"{work}/data.csv", index=False)
PY

t0=$(date +%s.%N)
timeout 120 "$(dirname "$py")/mlfn-pack" "$work/model.joblib" --data "$work/data.csv" --target species \
  --out "$work/bundle" --name my-penguins --version 1.0.0 >/dev/null
t1=$(date +%s.%N)
timeout 120 "$host" package "$work/bundle" -o "$work/my-penguins.wasm"
t2=$(date +%s.%N)
"$host" serve "$work/my-penguins.wasm" --listen 127.0.0.1:3917 2>"$work/serve.log" &
server=$!
until curl -sf -o /dev/null http://127.0.0.1:3917/health; do
  sleep 0.05
  [ "$(echo "$(date +%s.%N) - $t2 > 60" | bc)" = 1 ] && { cat "$work/serve.log"; exit 1; }
done
t3=$(date +%s.%N)
curl -s -X POST http://127.0.0.1:3917/predict -H 'content-type: application/json' \
  -d '{"features": {"island": "Dream", "bill_length_mm": 46.5, "flipper_length_mm": 192}}'
echo
printf 'mlfn-pack %.1f s + host package %.1f s + serve until /health answers %.1f s = %.1f s\n' \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)" "$(echo "$t3 - $t0" | bc)"
ls -l "$work/my-penguins.wasm" | awk '{print "component: " $5 " bytes"}'
