#!/usr/bin/env bash
# Prints the python of target/minilm-l6-venv (models/venv.sh): torch with its CUDA wheels,
# ~2.8 GB to download, ~5.7 GB installed; only make.sh needs it, fetch.sh does not.
exec "$(dirname "$0")/../venv.sh" minilm-l6 minilm-l6-venv
