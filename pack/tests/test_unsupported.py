"""Everything the format cannot express exits 2 with one message naming the step's path and
the option, and writes nothing (no bundle, no temp dir left beside it)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (FunctionTransformer, MinMaxScaler, OneHotEncoder,
                                   PolynomialFeatures, StandardScaler)

import case_data as cd
from packing import pack

NUMS, CATS = cd.PENGUIN_NUMS, cd.PENGUIN_CATS


def _penguins(cat_step, num_step=None):
    num = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", num_step or StandardScaler())])
    return ColumnTransformer([("num", num, NUMS), ("cat", cat_step, CATS)])


def _imputed(enc):
    return Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("onehot", enc)])


def _numeric_onehot():
    return ColumnTransformer([("num", OneHotEncoder(sparse_output=False), ["flipper_length_mm"])])


UNSUPPORTED = {
    # name: (preprocessing step(s), estimator, substrings the message must contain)
    "function_transformer": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False)), FunctionTransformer(np.log1p)),
        LogisticRegression(max_iter=2000), ["pre/num/scale", "FunctionTransformer"]),
    "unknown_step": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False)), PolynomialFeatures()),
        LogisticRegression(max_iter=2000), ["pre/num/scale", "PolynomialFeatures"]),
    "onehot_numeric_categories": (
        _numeric_onehot(), LogisticRegression(max_iter=2000), ["pre/num", "numeric categories"]),
    "onehot_min_frequency": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False, min_frequency=5))),
        LogisticRegression(max_iter=2000), ["pre/cat/onehot", "min_frequency"]),
    "onehot_max_categories": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False, max_categories=2))),
        LogisticRegression(max_iter=2000), ["pre/cat/onehot", "max_categories"]),
    "minmax_clip": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False)), MinMaxScaler(clip=True)),
        LogisticRegression(max_iter=2000), ["pre/num/scale", "clip"]),
    "sparse_output": (
        _penguins(_imputed(OneHotEncoder())), LogisticRegression(max_iter=2000),
        ["pre", "sparse"]),
    "estimator_not_listed": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False))), KNeighborsClassifier(),
        ["model", "KNeighborsClassifier"]),
    "sgd_hinge": (
        _penguins(_imputed(OneHotEncoder(sparse_output=False))), SGDClassifier(loss="hinge"),
        ["model", "loss='hinge'"]),
}


def _fit(pre, est):
    train, hold = cd.penguins()
    if isinstance(pre, ColumnTransformer) and pre.transformers[0][2] == ["flipper_length_mm"]:
        train, hold = (f.dropna(subset=["flipper_length_mm"]).reset_index(drop=True) for f in (train, hold))
    pipe = Pipeline([("pre", pre), ("model", est)]).fit(cd.X(train, "species"), train["species"])
    return pipe, hold


def _assert_nothing_written(out):
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir()] == [] if out.parent.exists() else True


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_exits_2_and_writes_nothing(name, tmp_path, capsys):
    pre, est, needles = UNSUPPORTED[name]
    pipe, hold = _fit(pre, est)
    if name == "sparse_output":
        # sklearn keeps this one dense unless the one-hot output is sparse enough:
        # force the ColumnTransformer to hand the estimator a sparse matrix
        pipe = Pipeline([("pre", _penguins(_imputed(OneHotEncoder()))), ("model", est)])
        pipe.named_steps["pre"].sparse_threshold = 1.0
        train, hold = cd.penguins()
        pipe.fit(cd.X(train, "species"), train["species"])
    rc, out = pack(tmp_path, pipe, hold, "species")
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)
    _assert_nothing_written(out)


def test_missing_values_option_is_refused(tmp_path, capsys):
    train, hold = cd.breast_cancer()
    pipe = Pipeline([("impute", SimpleImputer(missing_values=-1.0)), ("model", LogisticRegression(max_iter=5000))])
    pipe.fit(cd.X(train, "target"), train["target"])
    rc, out = pack(tmp_path, pipe, hold, "target")
    err = capsys.readouterr().err
    assert rc == 2 and "impute" in err and "missing_values=-1.0" in err
    _assert_nothing_written(out)


def test_fitted_without_column_names(tmp_path, capsys):
    train, hold = cd.iris()
    est = LogisticRegression(max_iter=2000).fit(cd.X(train, "target").to_numpy(), train["target"])
    rc, out = pack(tmp_path, est, hold, "target")
    assert rc == 2 and "column names" in capsys.readouterr().err
    _assert_nothing_written(out)


def test_cli_exit_status_end_to_end(tmp_path):
    # the installed-style entry point (python -m), as a user runs it
    pipe, hold = _fit(*UNSUPPORTED["function_transformer"][:2])
    import joblib

    joblib.dump(pipe, tmp_path / "m.joblib")
    hold.to_csv(tmp_path / "d.csv", index=False)
    r = subprocess.run([sys.executable, "-m", "mlfn_pack.cli", str(tmp_path / "m.joblib"),
                        "--data", str(tmp_path / "d.csv"), "--target", "species",
                        "--out", str(tmp_path / "out" / "b")], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "FunctionTransformer" in r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
