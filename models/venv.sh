#!/usr/bin/env bash
# models/venv.sh BUNDLE VENV: prints the python of target/VENV, creating it first if
# needed with exactly the versions of models/BUNDLE/requirements.txt (rebuilt when that
# file changes). Builds run niced: the machine is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/$2"
req="$root/models/$1/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$venv" >&2
    nice -n 19 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
