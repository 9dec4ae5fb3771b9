#!/usr/bin/env bash
# Runs tests/tools/v2_client.py (tritonclient.http against a served component) from a venv
# under target/ that this script creates on first use and refreshes when
# v2-client-requirements.txt changes. Exit status 3: the Python tooling could not be set
# up here (no python3, no package index); the Rust test skips on that outside CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../../target/v2-client-venv"
reqs="$here/v2-client-requirements.txt"
stamp="$venv/.requirements-installed"
if ! command -v python3 >/dev/null; then
  echo "python3 is not installed" >&2
  exit 3
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "could not create $venv" >&2; exit 3; }
fi
if [ ! -f "$stamp" ] || [ "$reqs" -nt "$stamp" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs" >&2 \
    || { echo "could not install $reqs" >&2; exit 3; }
  touch "$stamp"
fi
# Unbuffered, with the fault handler: should the client die, what it printed and where
# it was are in the test's message.
PYTHONUNBUFFERED=1 PYTHONFAULTHANDLER=1 exec "$venv/bin/python" "$here/v2_client.py" "$@"
