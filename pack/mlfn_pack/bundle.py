"""Assemble a bundle (manifest.json, model.json, reference.json) in memory."""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import __version__
from .compile import compile_model, flatten
from .estimators import Unsupported, export
from .evaluate import eval_row
from .outputs import label_strings, metrics, predict, prediction_baseline
from .schema import features as schema_features


@dataclass
class Inputs:
    model: object
    data: pd.DataFrame
    data_name: str
    baseline: pd.DataFrame
    integers: set
    target: str
    name: str
    version: str
    description: str
    created: str
    source: dict
    command: list
    max_rows: int


def dumps(obj, indent=None) -> bytes:
    # Python floats are written with repr (shortest round-trip): the reader gets every bit.
    # allow_nan=False: a NaN must never leak into the files (null means missing).
    seps = (",", ":") if indent is None else (",", ": ")
    return (json.dumps(obj, indent=indent, allow_nan=False, separators=seps) + "\n").encode()


def _versions(model) -> dict:
    """Versions of the libraries the model was loaded with (keyed by import name's project;
    xgboost may be installed as the `xgboost-cpu` distribution)."""
    out = {}
    for pkg, mod in (("scikit-learn", "sklearn"), ("numpy", "numpy"), ("pandas", "pandas"),
                     ("xgboost", "xgboost"), ("lightgbm", "lightgbm")):
        if mod in sys.modules:
            out[pkg] = getattr(sys.modules[mod], "__version__", None) or md.version(pkg)
    return out


def _transform(flat, X: pd.DataFrame) -> np.ndarray:
    """The matrix the estimator receives: the preprocessing steps applied in turn."""
    Xt = X
    for _path, step in flat[:-1]:
        Xt = step.transform(Xt)
    if hasattr(Xt, "toarray"):
        raise Unsupported(f"{flat[-1][0]}: the estimator receives a sparse matrix")
    return np.asarray(Xt, dtype=np.float64)


def _raw(v, ftype: str):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if ftype == "integer":
        return int(v)
    if ftype == "number":
        return float(v)
    return str(v)


def _same_bits(a: list[float], b: np.ndarray) -> bool:
    a = np.asarray(a, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (a.view(np.uint64) == b.view(np.uint64))))


def build(inp: Inputs) -> dict[str, bytes]:
    model = inp.model
    if inp.target not in inp.data.columns:
        raise ValueError(f"--data has no target column {inp.target!r}")
    comp = compile_model(model, inp.data)
    flat = flatten(model, "")
    width = len(comp.columns)
    try:
        exported = export(comp.final, n_features=width)
    except Unsupported as e:
        raise Unsupported(f"{comp.final_path}: {e}") from None
    classes = getattr(comp.final, "classes_", None)
    classification = classes is not None
    labels = [str(c) for c in classes] if classification else []
    if classification and not hasattr(model, "predict_proba"):
        raise Unsupported(f"{comp.final_path}: a classifier without predict_proba")

    X = inp.data[comp.input_names]
    Xb = inp.baseline[comp.input_names]
    feats = schema_features(comp.input_names, comp.columns, exported.takes_nan, inp.data,
                            inp.baseline, inp.integers)
    ftypes = {f["name"]: f["type"] for f in feats}
    optional = [f["name"] for f in feats if not f["required"]]
    programs = [c.program() for c in comp.columns]

    # ---- reference rows: the first N, then each again with every optional feature blank
    head = X.iloc[: inp.max_rows]
    origins = [f"data row {i}" for i in range(len(head))]
    ref_X = head
    if optional:
        blank = head.copy()
        for f in optional:
            blank[f] = blank[f].astype(object) if ftypes[f] == "category" else blank[f].astype(float)
            blank[f] = np.nan
        ref_X = pd.concat([head, blank], ignore_index=True)
        origins += [f"data row {i}, optional features blanked" for i in range(len(head))]
    transformed = _transform(flat, ref_X)
    if transformed.shape[1] != width:
        raise RuntimeError(f"internal: {width} column programs but the preprocessing gives "
                           f"{transformed.shape[1]} columns")
    pred, proba, value = predict(model, ref_X, classification)
    rows = []
    for r in range(len(ref_X)):
        feat_vals = {f["name"]: _raw(ref_X.iloc[r][f["name"]], f["type"]) for f in feats}
        got = eval_row(programs, feat_vals)
        if not _same_bits(got, transformed[r]):
            j = next(j for j in range(width) if not _same_bits([got[j]], transformed[r, j:j + 1]))
            raise RuntimeError(f"internal: column program {j} gives {got[j]!r} but sklearn gives "
                               f"{transformed[r, j]!r} on {origins[r]}: {programs[j]}")
        row = {"origin": origins[r], "features": feat_vals,
               "transformed": [None if np.isnan(v) else float(v) for v in transformed[r]]}
        if classification:
            row["label"] = pred[r]
            row["probabilities"] = [float(p) for p in proba[r]]
        else:
            row["value"] = float(value[r])
        rows.append(row)

    model_bytes = dumps(exported.model)
    y = inp.data[inp.target]
    if classification:
        keep = y.notna().to_numpy()
        met = metrics(model, X[keep], pd.Series(label_strings(y[keep], classes)), labels, inp.data_name)
    else:
        keep = y.notna().to_numpy()
        met = metrics(model, X[keep], y[keep], labels, inp.data_name)

    manifest = {
        "manifest_version": 2,
        "kind": "tabular",
        "task": "classification" if classification else "regression",
        "name": inp.name,
        "version": inp.version,
        "created": inp.created,
        "description": inp.description,
        "source": inp.source,
        "training": {
            "pipeline": " ".join(str(model).split()),
            "libraries": _versions(model),
            "packager": f"mlfn-pack {__version__}",
            "command": inp.command,
        },
        "metrics": met,
        "labels": labels,
        "features": feats,
        "preprocessing": {"width": width, "columns": programs},
        "model": {"file": "model.json", "format": "mlfn-estimator",
                  "sha256": hashlib.sha256(model_bytes).hexdigest(), "input_width": width},
        "prediction_baseline": prediction_baseline(model, Xb, labels),
    }
    reference = {
        "model": inp.name,
        "version": inp.version,
        "task": manifest["task"],
        "labels": labels,
        "generated_by": f"mlfn-pack {__version__}",
        "oracle": _versions(model),
        "rows": rows,
    }
    return {"manifest.json": dumps(manifest, indent=2), "model.json": model_bytes,
            "reference.json": dumps(reference, indent=1)}
