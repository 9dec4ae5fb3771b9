#!/usr/bin/env bash
# Prints the python of target/minilm-l6-venv, creating it first if needed: exactly the
# versions of models/minilm-l6/requirements.txt (torch with its CUDA wheels: ~2.8 GB to
# download, ~5.7 GB installed; only make.sh needs it, fetch.sh does not). Builds run
# niced: the machine is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/minilm-l6-venv"
req="$root/models/minilm-l6/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$venv" >&2
    nice -n 19 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
