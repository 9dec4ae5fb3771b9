#!/usr/bin/env bash
# Builds the parity corpus list (corpus.py) in the pinned venv; prints where it went.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/venv.sh")"
exec nice -n 19 "$python" "$here/corpus.py" "$@"
