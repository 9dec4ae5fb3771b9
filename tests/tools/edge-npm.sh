#!/usr/bin/env bash
# Installs the edge's npm packages (edge/package.json, exact versions from
# edge/package-lock.json) into target/edge-node on first use, again only when the lock
# file changes, and prints the node_modules directory. Install scripts are not run:
# workerd and esbuild find their platform binaries through their optional dependencies.
# Exit status 3: node or npm is not installed (the Rust test skips on that).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="$root/target/edge-node"
stamp="$dir/.lock-installed"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 3; }
done
if [ ! -f "$stamp" ] || [ "$root/edge/package-lock.json" -nt "$stamp" ] || [ "$root/edge/package.json" -nt "$stamp" ]; then
  mkdir -p "$dir"
  cp "$root/edge/package.json" "$root/edge/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  touch "$stamp"
fi
echo "$dir/node_modules"
