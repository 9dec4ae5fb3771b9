#!/usr/bin/env python3
"""Train the model bundles from data that a package ships, and write each bundle.

For every bundle `models/<name>/` this writes:
  model.onnx      the fitted estimator alone (skl2onnx, zipmap=False, integer labels);
                  preprocessing is NOT in the graph: tract 0.23 lacks ai.onnx.ml Scaler,
                  Imputer and OneHotEncoder, so the Rust `pipeline` crate runs it from the
                  manifest instead.
  manifest.json   schema documented in models/README.md: provenance, metrics, feature
                  schema, preprocessing parameters, labels, baseline statistics.
  reference.json  every holdout row: raw inputs, sklearn's transform, sklearn's
                  predict/predict_proba of the whole Pipeline, and onnxruntime's outputs.

Run through models/train.sh (it installs models/requirements.txt into a venv). The output
is deterministic: rerunning it reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODELS_DIR = Path(__file__).resolve().parent
SEED = 42
HOLDOUT_FRACTION = 0.25
DECILES = 10  # baseline bins for drift (PSI)
CDF_POINTS = 101  # baseline quantiles for the KS statistic
ONNX_OPSETS = {"": 17, "ai.onnx.ml": 3}


def pkg(name: str) -> str:
    return md.version(name)


# ---------------------------------------------------------------------------------------
# Data sets: each returns (frame of raw features, integer target, label names, spec)
# ---------------------------------------------------------------------------------------


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer(as_frame=True)
    frame = raw.data.copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    spec = {
        "name": "breast-cancer",
        "version": "1.0.0",
        "created": "2026-11-27",
        "description": "Wisconsin diagnostic breast cancer: is a fine-needle-aspirate "
        "cell sample malignant or benign? StandardScaler + LogisticRegression.",
        "source": {
            "package": "scikit-learn",
            "package_version": pkg("scikit-learn"),
            "package_license": "BSD-3-Clause",
            "file": "sklearn/datasets/data/breast_cancer.csv",
            "loader": "sklearn.datasets.load_breast_cancer",
            "dataset": "Breast Cancer Wisconsin (Diagnostic), UCI Machine Learning Repository",
            "dataset_license": "CC-BY-4.0",
        },
        "numeric": list(frame.columns),
        "integer": [],
        "categorical": [],
        "optional": [],
    }
    return frame, raw.target.to_numpy(), list(raw.target_names), spec


def penguins():
    import palmerpenguins

    data = palmerpenguins.load_penguins()
    labels = sorted(data["species"].unique())
    y = data["species"].map({s: i for i, s in enumerate(labels)}).to_numpy()
    numeric = ["bill_length_mm", "bill_depth_mm"]
    integer = ["flipper_length_mm", "body_mass_g"]
    categorical = ["island", "sex"]
    frame = data[numeric + integer + categorical].copy()
    # pandas 3 string columns hold NaN for missing; sklearn and JSON want None/np.nan.
    for c in categorical:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
    spec = {
        "name": "penguins",
        "version": "1.0.0",
        "created": "2026-11-27",
        "description": "Palmer Archipelago penguins: species from island, sex and body "
        "measurements, with gaps. Median/most-frequent imputation, StandardScaler, "
        "OneHotEncoder + multinomial LogisticRegression.",
        "source": {
            "package": "palmerpenguins",
            "package_version": pkg("palmerpenguins"),
            "package_license": "MIT",
            "file": "palmerpenguins/data/penguins.csv",
            "loader": "palmerpenguins.load_penguins",
            "dataset": "Palmer Station LTER penguin measurements (Gorman, Williams & Fraser 2014)",
            "dataset_license": "CC0-1.0",
        },
        "numeric": numeric,
        "integer": integer,
        "categorical": categorical,
        # Every column but island has gaps in the data; island is always known.
        "optional": numeric + integer + ["sex"],
    }
    return frame, y, labels, spec


BUNDLES = {"breast-cancer": breast_cancer, "penguins": penguins}

# ---------------------------------------------------------------------------------------


def build_pipeline(spec) -> Pipeline:
    nums = spec["numeric"] + spec["integer"]
    steps = []
    if nums:
        num_steps = []
        if any(c in spec["optional"] for c in nums):
            num_steps.append(("impute", SimpleImputer(strategy="median")))
        num_steps.append(("scale", StandardScaler()))
        steps.append(("num", Pipeline(num_steps), nums))
    if spec["categorical"]:
        steps.append(
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="error", sparse_output=False)),
                    ]
                ),
                spec["categorical"],
            )
        )
    pre = ColumnTransformer(steps, remainder="drop")
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=5000))])


def valid_range(values: np.ndarray) -> dict:
    """Inputs further than half the observed span beyond the data are extrapolation the
    model was never fitted on: reject them. Non-negative measurements stay non-negative."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    span = hi - lo
    vmin = lo - 0.5 * span
    if lo >= 0:
        vmin = max(vmin, 0.0)
    return {"min": round_sig(vmin), "max": round_sig(hi + 0.5 * span)}


def round_sig(x: float, digits: int = 6) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def numeric_baseline(train: np.ndarray) -> dict:
    present = train[~np.isnan(train)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, DECILES + 1)[1:-1]))
    # bin(v) = number of edges e with e < v  (the rule the Rust drift code uses)
    bins = np.searchsorted(edges, present, side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    return {
        "kind": "quantile_bins",
        "edges": [float(e) for e in edges],
        "proportions": [float(c) / len(present) for c in counts],
        "quantiles": [float(q) for q in np.quantile(present, np.linspace(0, 1, CDF_POINTS))],
        "missing_rate": float(np.isnan(train).mean()),
        "mean": float(present.mean()),
        "std": float(present.std()),
        "count": int(len(present)),
    }


def categorical_baseline(train: pd.Series, categories: list[str]) -> dict:
    present = train.dropna()
    return {
        "kind": "categories",
        "categories": categories,
        "proportions": [float((present == c).mean()) for c in categories],
        "missing_rate": float(train.isna().mean()),
        "count": int(len(present)),
    }


def jsonable(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def raw_value(col: str, v, spec):
    v = jsonable(v)
    if v is not None and col in spec["integer"]:
        return int(v)
    return v


def train_bundle(name: str) -> None:
    frame, y, labels, spec = BUNDLES[name]()
    x_train, x_test, y_train, y_test = train_test_split(
        frame, y, test_size=HOLDOUT_FRACTION, random_state=SEED, stratify=y
    )
    pipe = build_pipeline(spec)
    pipe.fit(x_train, y_train)
    pre: ColumnTransformer = pipe.named_steps["pre"]
    clf: LogisticRegression = pipe.named_steps["clf"]

    proba = pipe.predict_proba(x_test)
    pred = pipe.predict(x_test)
    if len(labels) == 2:
        auc = roc_auc_score(y_test, proba[:, 1])
    else:
        auc = roc_auc_score(y_test, proba, multi_class="ovr")
    metrics = {
        "train_rows": int(len(x_train)),
        "holdout_rows": int(len(x_test)),
        "accuracy": float(accuracy_score(y_test, pred)),
        "roc_auc": float(auc),
        "log_loss": float(log_loss(y_test, proba)),
        "split": f"train_test_split(test_size={HOLDOUT_FRACTION}, random_state={SEED}, stratify=y)",
    }

    # ---- the estimator alone, as ONNX ----
    width = int(pre.transform(x_train.iloc[:1]).shape[1])
    onx = convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, width]))],
        options={id(clf): {"zipmap": False}},
        target_opset=ONNX_OPSETS,
    )
    onx.producer_version = pkg("skl2onnx")
    onx.graph.name = name  # skl2onnx names the graph with a random uuid: pin it for reproducibility
    out_dir = MODELS_DIR / name
    out_dir.mkdir(exist_ok=True)
    model_bytes = onx.SerializeToString()
    (out_dir / "model.onnx").write_bytes(model_bytes)

    # ---- rows with gaps: the holdout again, optional features blanked in rotation ----
    # (the holdout may hold few or no natural gaps; these make the fixture exercise
    # imputation. The oracles see exactly the same NaNs.)
    x_ref = x_test
    origin = ["holdout"] * len(x_test)
    if spec["optional"]:
        gaps = x_test.copy()
        for r in range(len(gaps)):
            blank = spec["optional"] if r % 5 == 0 else [spec["optional"][r % len(spec["optional"])]]
            for c in blank:
                gaps.iloc[r, gaps.columns.get_loc(c)] = np.nan
        x_ref = pd.concat([x_test, gaps])
        origin += ["holdout with optional features blanked"] * len(gaps)
    proba = pipe.predict_proba(x_ref)
    pred = pipe.predict(x_ref)

    # ---- oracle 2: onnxruntime on sklearn's own transform ----
    transformed = pre.transform(x_ref).astype(np.float32)
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    ort_label, ort_proba = sess.run(["label", "probabilities"], {"input": transformed})
    diff = float(np.abs(ort_proba - proba).max())
    assert diff <= 1e-5, f"onnxruntime vs sklearn differ by {diff}"
    assert (ort_proba.argmax(axis=1) == pred).all(), "onnxruntime argmax differs from sklearn"

    # ---- manifest ----
    features = []
    columns = []
    nums = spec["numeric"] + spec["integer"]
    num_pipe = pre.named_transformers_.get("num")
    cat_pipe = pre.named_transformers_.get("cat")
    for col in frame.columns:
        optional = col in spec["optional"]
        feat = {"name": col, "required": not optional}
        if col in nums:
            i = nums.index(col)
            feat["type"] = "integer" if col in spec["integer"] else "number"
            feat["range"] = valid_range(frame[col].to_numpy(dtype=float))
            default = None
            if optional:
                # The training median; for an integer feature it may be x.5, and that
                # exact value is what sklearn imputes, so it stays a number here.
                default = float(num_pipe.named_steps["impute"].statistics_[i])
            feat["default"] = default
            feat["baseline"] = numeric_baseline(x_train[col].to_numpy(dtype=float))
        else:
            i = spec["categorical"].index(col)
            cats = [str(c) for c in cat_pipe.named_steps["onehot"].categories_[i]]
            feat["type"] = "category"
            feat["categories"] = cats
            feat["default"] = (
                str(cat_pipe.named_steps["impute"].statistics_[i]) if optional else None
            )
            feat["baseline"] = categorical_baseline(x_train[col], cats)
        features.append(feat)
    # The model's input columns, in the order the ColumnTransformer emits them.
    if num_pipe is not None:
        scaler: StandardScaler = num_pipe.named_steps["scale"]
        for i, col in enumerate(nums):
            columns.append(
                {
                    "feature": col,
                    "transform": "standardize",
                    "mean": float(scaler.mean_[i]),
                    "scale": float(scaler.scale_[i]),
                }
            )
    if cat_pipe is not None:
        for i, col in enumerate(spec["categorical"]):
            cats = [str(c) for c in cat_pipe.named_steps["onehot"].categories_[i]]
            columns.append({"feature": col, "transform": "one_hot", "categories": cats})

    manifest = {
        "manifest_version": 1,
        "name": spec["name"],
        "version": spec["version"],
        "created": spec["created"],
        "description": spec["description"],
        "source": spec["source"],
        "training": {
            "script": "models/train.py",
            "pipeline": str(pipe).replace("\n", " ").replace("  ", ""),
            "libraries": {
                p: pkg(p)
                for p in ["scikit-learn", "skl2onnx", "onnx", "onnxruntime", "numpy", "pandas"]
            },
        },
        "metrics": metrics,
        "model": {
            "file": "model.onnx",
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "format": "onnx",
            "opsets": ONNX_OPSETS,
            "input": "input",
            "input_width": width,
            "label_output": "label",
            "probabilities_output": "probabilities",
        },
        "labels": [str(label) for label in labels],
        "features": features,
        "preprocessing": {"columns": columns},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    # ---- reference fixture ----
    rows = []
    for r in range(len(x_ref)):
        row = x_ref.iloc[r]
        rows.append(
            {
                "origin": origin[r],
                "features": {c: raw_value(c, row[c], spec) for c in frame.columns},
                "transformed": [float(v) for v in transformed[r]],
                "sklearn_label": str(labels[pred[r]]),
                "sklearn_proba": [float(p) for p in proba[r]],
                "onnxruntime_label": str(labels[int(ort_label[r])]),
                "onnxruntime_proba": [float(p) for p in ort_proba[r]],
            }
        )
    reference = {
        "model": spec["name"],
        "version": spec["version"],
        "labels": manifest["labels"],
        "generated_by": "models/train.py",
        "oracles": {"sklearn": pkg("scikit-learn"), "onnxruntime": pkg("onnxruntime")},
        "max_abs_diff_onnxruntime_vs_sklearn": diff,
        "rows": rows,
    }
    (out_dir / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    print(
        f"{name}: {len(x_train)} train / {len(x_test)} holdout rows, "
        f"accuracy {metrics['accuracy']:.4f}, roc_auc {metrics['roc_auc']:.4f}, "
        f"onnx {len(model_bytes)} bytes, |ort - sklearn| max {diff:.2e}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundles", nargs="*", metavar="BUNDLE", help=f"default: all of {list(BUNDLES)}")
    args = ap.parse_args()
    for name in args.bundles or list(BUNDLES):
        if name not in BUNDLES:
            ap.error(f"unknown bundle {name!r}; known: {', '.join(BUNDLES)}")
        train_bundle(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
