#!/usr/bin/env bash
# Retrain every bundle (or the ones named) from the packaged data sets, in a private venv
# with the exact versions in models/requirements.txt. Output is deterministic: a rerun
# leaves `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${MODELS_VENV:-$here/../target/models-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
exec "$venv/bin/python" "$here/train.py" "$@"
