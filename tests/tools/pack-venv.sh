#!/usr/bin/env bash
# Creates (once) target/pack-venv with the exact versions in pack/requirements.lock plus
# `pip install ./pack`, so target/pack-venv/bin/mlfn-pack exists. Prints the venv's python.
# Reinstalls the pack package when its sources are newer than the last install.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/pack-venv"
stamp="$venv/.pack-installed"
# Tests run in parallel and may all call this on a fresh clone: one at a time (two pip
# installs of ./pack collide in pack/build).
mkdir -p "$root/target"
exec 9>"$root/target/.pack-venv.lock"
flock 9
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$venv/.lock-installed" ] || [ "$root/pack/requirements.lock" -nt "$venv/.lock-installed" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/pack/requirements.lock" >&2
  touch "$venv/.lock-installed"
fi
if [ ! -f "$stamp" ] || [ -n "$(find "$root/pack/pyproject.toml" "$root/pack/mlfn_pack" -newer "$stamp" -print -quit)" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$root/pack" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
