"""Every preprocessing and linear/MLP case, packed through the CLI and checked against
sklearn itself (the oracle), not against numbers written here:

* `transformed` in reference.json is bit-identical to the user's preprocessing applied to
  the row's `features` (rebuilt from JSON, so the features are checked too);
* the column programs, run by the pure-Python evaluator, give the same bits;
* model.json run by ir_eval (written from the spec alone) reproduces the pipeline's own
  predict_proba / predict on those rows, and reference.json holds exactly those outputs.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

import cases_linear
import cases_preprocessing
import ir_eval
from make_cases import csv
from mlfn_pack.evaluate import eval_row
from packing import load, pack

CASES = cases_preprocessing.CASES + cases_linear.CASES


def _bits_equal(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nan = np.isnan(a) & np.isnan(b)
    return a.shape == b.shape and bool(np.all(nan | (a.view(np.uint64) == b.view(np.uint64))))


def _preprocess(model, frame):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return np.asarray(model[:-1].transform(frame), dtype=np.float64)
    return frame.to_numpy(dtype=np.float64)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, tmp_path):
    model, train, hold, target = case.build()
    joblib_dir = tmp_path
    # CSVs as make_cases writes them (integral columns as integers)
    csv(hold, tmp_path / "hold.csv")
    hold_csv = pd.read_csv(tmp_path / "hold.csv")
    rc, bundle = pack(joblib_dir, model, hold_csv, target, baseline=train,
                      extra=["--max-reference-rows", "40"])
    assert rc == 0
    manifest, est, ref = load(bundle)

    assert manifest["model"]["sha256"] == hashlib.sha256((bundle / "model.json").read_bytes()).hexdigest()
    width = manifest["preprocessing"]["width"]
    assert width == len(manifest["preprocessing"]["columns"]) == est["input_width"]

    names = list(model.feature_names_in_)
    feats = {f["name"]: f for f in manifest["features"]}
    assert set(feats) <= set(names)
    optional = [n for n, f in feats.items() if not f["required"]]
    blanked = [r for r in ref["rows"] if r["origin"].endswith("optional features blanked")]
    assert len(blanked) == (40 if optional else 0)
    for r in blanked:
        assert all(r["features"][n] is None for n in optional)

    rows = ref["rows"]
    frame = pd.DataFrame([{n: r["features"].get(n) for n in names} for r in rows], columns=names)
    for n in names:
        if n in feats and feats[n]["type"] == "category":
            frame[n] = frame[n].astype(object).where(frame[n].notna(), np.nan)
        else:
            frame[n] = frame[n].astype(float)
    transformed = np.array([[math.nan if v is None else v for v in r["transformed"]] for r in rows])
    assert _bits_equal(transformed, _preprocess(model, frame))
    programs = manifest["preprocessing"]["columns"]
    for r, t in zip(rows, transformed):
        assert _bits_equal(eval_row(programs, r["features"]), t), r["origin"]

    got = ir_eval.predict(est, transformed)
    if manifest["task"] == "classification":
        proba = model.predict_proba(frame)
        labels = [str(c) for c in model.classes_]
        assert manifest["labels"] == labels
        np.testing.assert_allclose(got["probabilities"], proba, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(np.array([r["probabilities"] for r in rows]), proba)
        assert [r["label"] for r in rows] == [str(p) for p in model.predict(frame)]
        assert [labels[i] for i in got["label_index"]] == [r["label"] for r in rows]
    else:
        value = model.predict(frame)
        np.testing.assert_allclose(got["value"], value, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(np.array([r["value"] for r in rows]), value)
