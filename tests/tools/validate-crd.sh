#!/usr/bin/env bash
# Runs tests/tools/validate_crd.py from a venv under target/ that this script creates on
# first use and refreshes when deploy-requirements.txt changes. Exit status 3: the Python
# tooling could not be set up here (no python3, no package index).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../../target/deploy-venv"
reqs="$here/deploy-requirements.txt"
stamp="$venv/.requirements-installed"
command -v python3 >/dev/null || { echo "python3 is not installed" >&2; exit 3; }
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "could not create $venv" >&2; exit 3; }
fi
if [ ! -f "$stamp" ] || [ "$reqs" -nt "$stamp" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs" >&2 \
    || { echo "could not install $reqs" >&2; exit 3; }
  touch "$stamp"
fi
exec "$venv/bin/python" "$here/validate_crd.py" "$@"
