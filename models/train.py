#!/usr/bin/env python3
"""Train the bundles in models/ from data that packages ship, and package each with mlfn-pack.

For every bundle: load the data, split it (train_test_split(test_size=0.25,
random_state=42), stratified for classification), fit a scikit-learn pipeline on the train
part, save it with joblib, then run the real `mlfn-pack` CLI with the holdout as --data
(schema, metrics, reference rows) and the train part as --baseline-data (drift baselines).
One path for every model: what users do with their own pipelines.

Run through models/train.sh (a venv with pack/requirements.lock and ./pack). Deterministic:
fixed seeds, single-threaded fits, a fixed --created date, so a rerun reproduces the files
byte for byte. Set MLFN_HOST to a host binary to also check each bundle through the
component (mlfn-pack --host).
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODELS_DIR = Path(__file__).resolve().parent
SEED = 42
HOLDOUT_FRACTION = 0.25
CREATED = "2026-11-27"
VERSION = "1.0.0"


# ---------------------------------------------------------------------------------------
# Data sets: each returns (frame with the target column, target name, task, source)
# ---------------------------------------------------------------------------------------

def _sklearn_source(file: str, loader: str, dataset: str, license: str) -> dict:
    return {"package": "scikit-learn", "package_version": md.version("scikit-learn"),
            "package_license": "BSD-3-Clause", "file": file, "loader": loader,
            "dataset": dataset, "dataset_license": license}


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer(as_frame=True)
    frame = raw.data.copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["diagnosis"] = [str(raw.target_names[i]) for i in raw.target]
    return frame, "diagnosis", "classification", _sklearn_source(
        "sklearn/datasets/data/breast_cancer.csv", "sklearn.datasets.load_breast_cancer",
        "Breast Cancer Wisconsin (Diagnostic), UCI Machine Learning Repository", "CC-BY-4.0")


def wine():
    from sklearn.datasets import load_wine

    raw = load_wine(as_frame=True)
    frame = raw.data.copy()
    frame.columns = [c.replace("/", "_") for c in frame.columns]
    frame["cultivar"] = [str(raw.target_names[i]) for i in raw.target]
    return frame, "cultivar", "classification", _sklearn_source(
        "sklearn/datasets/data/wine_data.csv", "sklearn.datasets.load_wine",
        "Wine recognition data, UCI Machine Learning Repository", "CC-BY-4.0")


def diabetes():
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(as_frame=True)
    frame = raw.data.copy()
    frame["progression"] = raw.target
    return frame, "progression", "regression", _sklearn_source(
        "sklearn/datasets/data/diabetes_data_raw.csv.gz", "sklearn.datasets.load_diabetes",
        "Diabetes data (Efron, Hastie, Johnstone & Tibshirani 2004), scaled", "BSD-3-Clause")


PENGUIN_NUMS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
PENGUIN_CATS = ["island", "sex"]


def penguins():
    import palmerpenguins

    d = palmerpenguins.load_penguins()[PENGUIN_NUMS + PENGUIN_CATS + ["species"]].copy()
    # sklearn encoders want object arrays with np.nan for missing strings
    for c in PENGUIN_CATS + ["species"]:
        d[c] = d[c].astype(object).where(d[c].notna(), np.nan)
    return d, "species", "classification", {
        "package": "palmerpenguins", "package_version": md.version("palmerpenguins"),
        "package_license": "MIT", "file": "palmerpenguins/data/penguins.csv",
        "loader": "palmerpenguins.load_penguins",
        "dataset": "Palmer Station LTER penguin measurements (Gorman, Williams & Fraser 2014)",
        "dataset_license": "CC0-1.0"}


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------

def penguins_pre() -> ColumnTransformer:
    return ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), PENGUIN_NUMS),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="error", sparse_output=False))]),
         PENGUIN_CATS),
    ])


def m_breast_cancer():
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=5000))])


def m_penguins():
    return Pipeline([("pre", penguins_pre()), ("clf", LogisticRegression(max_iter=5000))])


def m_breast_cancer_forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=200, random_state=SEED, n_jobs=1)


def m_wine_gb():
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=300, max_depth=3, random_state=SEED)


def m_diabetes_hgb():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=SEED)


def m_penguins_forest():
    from sklearn.ensemble import RandomForestClassifier

    pre = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), PENGUIN_NUMS),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]),
         PENGUIN_CATS),
    ])
    return Pipeline([("pre", pre), ("clf", RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1))])


def m_diabetes_lgbm():
    from lightgbm import LGBMRegressor

    return LGBMRegressor(n_estimators=200, learning_rate=0.05, num_leaves=15, random_state=SEED,
                         n_jobs=1, deterministic=True, verbose=-1)


BUNDLES = {
    # name: (data, model, description)
    "breast-cancer": (breast_cancer, m_breast_cancer,
                      "Wisconsin diagnostic breast cancer: is a fine-needle-aspirate cell sample "
                      "malignant or benign? StandardScaler + LogisticRegression."),
    "penguins": (penguins, m_penguins,
                 "Palmer Archipelago penguins: species from island, sex and body measurements, "
                 "with gaps. Median/most-frequent imputation, StandardScaler, OneHotEncoder + "
                 "multinomial LogisticRegression."),
    "breast-cancer-forest": (breast_cancer, m_breast_cancer_forest,
                             "Wisconsin diagnostic breast cancer with a 200-tree RandomForestClassifier."),
    "wine-gb": (wine, m_wine_gb,
                "Wine cultivar from chemical analysis: GradientBoostingClassifier, 300 stages of "
                "depth-3 trees per class."),
    "diabetes-hgb": (diabetes, m_diabetes_hgb,
                     "Diabetes disease progression after one year: HistGradientBoostingRegressor."),
    "penguins-forest": (penguins, m_penguins_forest,
                        "Palmer penguins species with imputation, one-hot encoding and a 100-tree "
                        "RandomForestClassifier."),
    "diabetes-lgbm": (diabetes, m_diabetes_lgbm,
                      "Diabetes disease progression after one year: LightGBM LGBMRegressor."),
}


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Integral float columns (gaps make pandas use float) are written as integers, as the
    source file has them, so the schema types them `integer`."""
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_float_dtype(col.dtype):
            present = col.dropna()
            if len(present) and (present == present.round()).all():
                out[c] = col.astype("Int64")
    out.to_csv(path, index=False)


def mlfn_pack() -> str:
    exe = Path(sys.executable).with_name("mlfn-pack")
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run models/train.sh (it installs ./pack)")
    return str(exe)


def train_bundle(name: str) -> None:
    data, make_model, description = BUNDLES[name]
    frame, target, task, source = data()
    train, hold = train_test_split(frame, test_size=HOLDOUT_FRACTION, random_state=SEED,
                                   stratify=frame[target] if task == "classification" else None)
    model = make_model()
    model.fit(train.drop(columns=[target]), train[target])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        joblib.dump(model, tmp / "model.joblib")
        write_csv(hold, tmp / "holdout.csv")
        write_csv(train, tmp / "train.csv")
        (tmp / "source.json").write_text(json.dumps(source))
        cmd = [mlfn_pack(), str(tmp / "model.joblib"), "--data", str(tmp / "holdout.csv"),
               "--baseline-data", str(tmp / "train.csv"), "--target", target,
               "--out", str(MODELS_DIR / name), "--name", name, "--version", VERSION,
               "--created", CREATED, "--description", description,
               "--source", str(tmp / "source.json")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{name}: mlfn-pack exited {r.returncode}\n{r.stdout}{r.stderr}")
    m = json.loads((MODELS_DIR / name / "manifest.json").read_text())["metrics"]
    shown = {k: round(v, 4) for k, v in m.items() if isinstance(v, float)}
    print(f"{name}: {len(train)} train / {len(hold)} holdout rows, {shown}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundles", nargs="*", metavar="BUNDLE", help=f"default: all of {list(BUNDLES)}")
    args = ap.parse_args()
    failed = []
    for name in args.bundles or list(BUNDLES):
        if name not in BUNDLES:
            raise SystemExit(f"unknown bundle {name!r}; known: {list(BUNDLES)}")
        try:
            train_bundle(name)
        except Exception as e:  # go on with the others, fail at the end
            print(f"{name}: FAILED: {e}", file=sys.stderr, flush=True)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
