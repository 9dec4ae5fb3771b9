#!/usr/bin/env bash
# Prints the python of target/media-venv (models/venv.sh): the magika wheel is the model's
# source and its Python package the oracle.
exec "$(dirname "$0")/../venv.sh" magika media-venv
