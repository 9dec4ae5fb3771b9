#!/usr/bin/env bash
# Validates an OpenAPI document with openapi-spec-validator, from a venv under target/
# that this script creates on first use (python3 and PyPI are all it needs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../../target/test-tools-venv"
# Through the venv's python, not its console script: that script's shebang names the venv's
# absolute path, which breaks when target/ is moved or copied.
if ! "$venv/bin/python" -c "import openapi_spec_validator" 2>/dev/null; then
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
exec "$venv/bin/python" -m openapi_spec_validator "$@"
