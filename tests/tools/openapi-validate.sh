#!/usr/bin/env bash
# Validates an OpenAPI document with openapi-spec-validator, from a venv under target/
# that this script creates on first use (python3 and PyPI are all it needs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../../target/test-tools-venv"
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
exec "$venv/bin/openapi-spec-validator" "$@"
