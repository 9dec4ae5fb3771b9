#!/usr/bin/env bash
# Rebuilds models/magika from the `magika` wheel on PyPI (see make.py). Deterministic: a
# rerun leaves `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/venv.sh")"
"$python" "$here/make.py" "$@"
# The drift baselines of what events record of each sample (manifest.json "drift").
"$python" "$here/../drift_baseline.py" "$here"
