#!/usr/bin/env bash
# Prints the python of target/media-venv, creating it first if needed: exactly the versions
# of models/magika/requirements.txt (the magika wheel is the model's source and its
# Python package the oracle). Builds run niced: the machine is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/media-venv"
req="$root/models/magika/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$venv" >&2
    nice -n 19 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
