#!/usr/bin/env bash
# Retrain every bundle (or the ones named) from the packaged data sets, in the pack venv
# (tests/tools/pack-venv.sh: exact versions from pack/requirements.lock, plus ./pack for
# mlfn-pack). Output is deterministic: a rerun leaves `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/../tests/tools/pack-venv.sh")"
exec "$python" "$here/train.py" "$@"
