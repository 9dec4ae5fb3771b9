#!/usr/bin/env bash
# Prints the python of target/efficientnet-lite0-venv (models/venv.sh): torch and the
# model's code export the network and answer the reference; onnxruntime checks the export.
exec "$(dirname "$0")/../venv.sh" efficientnet-lite0 efficientnet-lite0-venv
