"""Test aid: pack a fitted model + frames with the real CLI entry point, in process."""
from __future__ import annotations

import json
from pathlib import Path

import joblib

from mlfn_pack import cli


def pack(tmp: Path, model, data, target, *, baseline=None, extra=(), name="case", capsys=None):
    tmp.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, tmp / "model.joblib")
    data.to_csv(tmp / "data.csv", index=False)
    args = [str(tmp / "model.joblib"), "--data", str(tmp / "data.csv"), "--target", target,
            "--out", str(tmp / "out" / name), "--created", "2026-11-27", *extra]
    if baseline is not None:
        baseline.to_csv(tmp / "train.csv", index=False)
        args += ["--baseline-data", str(tmp / "train.csv")]
    rc = cli.main(args)
    return rc, tmp / "out" / name


def load(bundle: Path):
    return tuple(json.loads((bundle / f).read_text()) for f in ("manifest.json", "model.json", "reference.json"))
