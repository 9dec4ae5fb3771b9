#!/usr/bin/env bash
# Prints the python of target/efficientnet-lite0-venv, creating it first if needed: exactly
# the versions of models/efficientnet-lite0/requirements.txt (torch and the model's code
# export the network and answer the reference; onnxruntime checks the export). Builds run
# niced: the machine is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/efficientnet-lite0-venv"
req="$root/models/efficientnet-lite0/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$venv" >&2
    nice -n 19 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
