#!/usr/bin/env bash
# Tree ensembles against onnxruntime, in one run: a 200-tree RandomForest (breast cancer)
# and a 300-round depth-3 GradientBoosting (wine), one row and a batch of 256, timed in
# onnxruntime (1 thread, sequential), natively (the pipeline crate) and inside the
# component (wasmtime, pre-initialised instance). Targets (the issue): native ≤ 1.0×
# onnxruntime, wasm ≤ 2.0×. Prints the table; writes it and every raw output to
# bench/results/trees.txt.
#
#   bench/trees/run.sh                    # everything (builds the host once if needed)
#   HOST=path/to/host bench/trees/run.sh  # use this host binary, no cargo
#   NO_HOST=1 bench/trees/run.sh         # onnxruntime only (native/wasm rows marked TODO)
#   ITERATIONS=2000 ITERATIONS_BATCH=500 OUT=bench/results/trees.txt bench/trees/run.sh
#
# Bounded: every step under `timeout`; after the one-time venv/host builds the whole run
# is ~1–3 minutes on 2 cores. Idempotent: the venv (target/bench-trees-venv) and models
# (target/bench-trees) are reused while their inputs are unchanged.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
here=bench/trees
work=target/bench-trees
venv=target/bench-trees-venv
out="${OUT:-bench/results/trees.txt}"
iters="${ITERATIONS:-2000}"          # one row: onnxruntime calls and host bench iterations
iters_batch="${ITERATIONS_BATCH:-500}"  # batch 256: onnxruntime calls
models=(rf200-breast-cancer gb300-wine)
mkdir -p "$work" "$(dirname "$out")"
raw="$work/raw"; rm -rf "$raw"; mkdir -p "$raw"
log() { echo "== $*" >&2; }

# 1. venvs: the packager's (pack/requirements.lock + mlfn-pack) and ours (the same lock +
#    onnxruntime/skl2onnx/onnx), each installed once and again only when a pin changes.
log "venvs"
timeout 900 tests/tools/pack-venv.sh >/dev/null
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ pack/requirements.lock -nt "$stamp" ] || [ "$here/requirements.txt" -nt "$stamp" ]; then
  timeout 900 "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r pack/requirements.lock -r "$here/requirements.txt" >&2
  touch "$stamp"
fi
py="$venv/bin/python"

# 2. models: fit, mlfn-pack the bundles, skl2onnx the .onnx (redone when an input changed).
mstamp="$work/.models"
if [ ! -f "$mstamp" ] || [ -n "$(find "$here/make_models.py" pack/mlfn_pack pack/requirements.lock \
      "$here/requirements.txt" -newer "$mstamp" -print -quit)" ]; then
  log "fitting and packing the models"
  timeout 300 "$py" "$here/make_models.py" "$work" target/pack-venv/bin/mlfn-pack >&2
  touch "$mstamp"
fi

# 3. the host: $HOST, or built once here (a no-op when up to date).
if [ -n "${NO_HOST:-}" ]; then
  HOST=""
elif [ -z "${HOST:-}" ]; then
  log "cargo build --release -p host"
  timeout 1800 cargo build --release -p host -q
  HOST=target/release/host
fi
have_batches=0
if [ -n "$HOST" ]; then
  if "$HOST" bench --help 2>/dev/null | grep -q -- '--batch-sizes'; then have_batches=1; fi
fi

# 4. agreement gates. onnxruntime vs sklearn is printed by ort_bench.py (not a failure:
#    float32 thresholds may move a forest's probabilities). wasm vs sklearn: `host
#    package` runs every reference row through the packaged component and refuses to
#    write it unless all agree (probabilities within 1e-5, labels equal).
for m in "${models[@]}"; do
  [ -n "$HOST" ] || { echo "(NO_HOST: not checked)" >"$raw/package-$m.txt"; continue; }
  log "host package $m (every reference row through the component)"
  timeout 600 "$HOST" package "$work/$m" -o "$work/$m.wasm" 2>&1 | tee "$raw/package-$m.txt" >&2
done

# 5. onnxruntime timings (+ agreement with sklearn).
log "onnxruntime"
timeout 300 "$py" "$here/ort_bench.py" "$work" "${models[@]}" \
  --iterations-one "$iters" --iterations-batch "$iters_batch" >"$raw/ort.json"

# 6. native and wasm timings: host bench, batch sizes 1 and 256, same rows as above.
host_args=()
for m in "${models[@]}"; do
  if [ "$have_batches" = 1 ]; then
    log "host bench $m"
    timeout 600 "$HOST" bench "$work/$m" --batch-sizes 1,256 --iterations "$iters" \
      --concurrency 1 --http-seconds 1 --json "$raw/host-$m.json" >"$raw/host-$m.txt" 2>&1
    host_args+=("$m=$raw/host-$m.json")
  else
    log "TODO: this host has no 'bench --batch-sizes': native/wasm figures missing"
  fi
done

# 7. the table, then everything raw into $out.
"$py" "$here/table.py" "$raw/ort.json" "${host_args[@]}" >"$raw/table.txt"
cat "$raw/table.txt"
{
  echo "# bench/trees/run.sh — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- host pipeline guest || echo ' (+ uncommitted host/pipeline/guest changes)')"
  echo "# machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# versions: $("$py" -c 'import onnxruntime,onnx,skl2onnx,sklearn,numpy,sys;print(f"python {sys.version.split()[0]}, onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, skl2onnx {skl2onnx.__version__}, scikit-learn {sklearn.__version__}, numpy {numpy.__version__}")'); $([ -n "$HOST" ] && "$HOST" --version 2>/dev/null || echo "host: $(git log -1 --format=%h -- host)")"
  echo "# iterations: one row $iters (onnxruntime and host bench), batch 256 onnxruntime $iters_batch / host bench $iters"
  echo
  cat "$raw/table.txt"
  echo
  echo "## models"
  for m in "${models[@]}"; do echo "### $m.meta.json"; cat "$work/$m.meta.json"; done
  echo
  echo "## host package (wasm vs sklearn reference rows)"
  for m in "${models[@]}"; do echo "### $m"; cat "$raw/package-$m.txt"; done
  echo
  echo "## ort_bench.py (raw JSON)"
  cat "$raw/ort.json"
  for m in "${models[@]}"; do
    [ -f "$raw/host-$m.json" ] || continue
    echo
    echo "## host bench $work/$m --batch-sizes 1,256 --iterations $iters --concurrency 1 --http-seconds 1"
    cat "$raw/host-$m.txt"
    echo "### --json"
    cat "$raw/host-$m.json"; echo
  done
} >"$out"
log "wrote $out"
