"""Tree-ensemble exporters (trees.py, xgb.py, lgbm.py) against the libraries themselves.

For every supported estimator: fit on a dataset shipped with scikit-learn, export, run the
model.json through `ir_eval` (an evaluator written from models/README.md alone) and demand
what `host package` demands of the component on every row: probabilities within 1e-5,
values within 1e-5 * max(1, |y|), labels equal. The oracle is always the library's own
`predict_proba` / `predict`.

The rows are the data plus *probe* rows that sit on the decision boundaries: for split
nodes of the exported trees, a data row with the split feature set to the threshold, its
f64 neighbours, its nearest float32 values, 0.0 and NaN. Those are the rows where a wrong
input cast, a `<` for a `<=`, a rounded threshold or a wrong missing-value side changes
the leaf; `test_probes_catch_*` show that they do.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn import ensemble, tree
from sklearn.base import is_classifier
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.dummy import DummyClassifier

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import ir_eval  # noqa: E402
from mlfn_pack.estimators import Unsupported, export  # noqa: E402

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

P_TOL = 1e-5


# ---- data -----------------------------------------------------------------------------

def _data(name: str, nan: bool = False):
    X, y = {
        "binary": load_breast_cancer,
        "multiclass": load_wine,
        "iris": load_iris,
        "regression": load_diabetes,
    }[name](return_X_y=True)
    X = X.astype(np.float64)
    if nan:
        # ~15% missing in a third of the columns (at fit and at predict), so trees learn
        # a side for NaN and the NaN paths are exercised
        rng = np.random.default_rng(7)
        cols = np.arange(0, X.shape[1], 3)
        mask = rng.random((X.shape[0], cols.size)) < 0.15
        sub = X[:, cols]
        sub[mask] = np.nan
        X[:, cols] = sub
    return X, y


def _probe_rows(model: dict, X: np.ndarray, *, with_nan: bool, limit: int = 1500) -> np.ndarray:
    """Data rows moved onto split thresholds (see the module docstring)."""
    rows = []
    r = 0
    for t in model["trees"]:
        for i, left in enumerate(t["left"]):
            if left == -1:
                continue
            f, thr = t["feature"][i], float(t["threshold"][i])
            vals = [0.0, 1e-36, -1e-36]  # LightGBM reads |x| <= 1e-35f as 0.0
            if abs(thr) < 1e30:
                f32 = np.float32(thr)
                vals += [thr, np.nextafter(thr, -np.inf), np.nextafter(thr, np.inf),
                         float(f32), float(np.nextafter(f32, np.float32(-np.inf))),
                         float(np.nextafter(f32, np.float32(np.inf)))]
            if with_nan:
                vals.append(np.nan)
            for v in vals:
                row = X[r % len(X)].copy()
                r += 1
                row[f] = v
                rows.append(row)
            if len(rows) >= limit:
                return np.array(rows)
    return np.array(rows) if rows else np.empty((0, X.shape[1]))


# ---- the check ------------------------------------------------------------------------

def _exported(est, n_features: int):
    ex = export(est, n_features=n_features)
    # what reaches the bundle: strict JSON (no NaN/Infinity, no numpy types), reparsed
    model = json.loads(json.dumps(ex.model, allow_nan=False))
    assert model["kind"] == "tree_ensemble" and model["input_width"] == n_features
    return ex, model


def _disagreements(est, model: dict, X: np.ndarray) -> tuple[int, float]:
    """(rows where the model.json prediction misses the library's, worst error)."""
    out = ir_eval.predict(model, X)
    if is_classifier(est):
        proba = est.predict_proba(X)
        err = np.abs(out["probabilities"] - proba).max(axis=1)
        bad = (err > P_TOL) | (est.classes_[out["label_index"]] != est.predict(X))
    else:
        y = est.predict(X)
        err = np.abs(out["value"] - y) / np.maximum(1.0, np.abs(y))
        bad = err > 1e-5
    return int(bad.sum()), float(err.max())


def check(est, X: np.ndarray, *, nan_rows: bool | None = None) -> dict:
    ex, model = _exported(est, X.shape[1])
    with_nan = ex.takes_nan if nan_rows is None else nan_rows
    rows = np.vstack([X, _probe_rows(model, X, with_nan=with_nan)])
    assert len(rows) > len(X)
    bad, worst = _disagreements(est, model, rows)
    assert bad == 0, f"{bad} of {len(rows)} rows disagree with {type(est).__name__} (worst {worst:.3g})"
    return model


# ---- every supported estimator --------------------------------------------------------

SEED = dict(random_state=0)

CLASSIFIERS = {
    "DecisionTreeClassifier": lambda: tree.DecisionTreeClassifier(max_depth=8, **SEED),
    "ExtraTreeClassifier": lambda: tree.ExtraTreeClassifier(**SEED),
    "RandomForestClassifier": lambda: ensemble.RandomForestClassifier(n_estimators=25, **SEED),
    "ExtraTreesClassifier": lambda: ensemble.ExtraTreesClassifier(n_estimators=25, **SEED),
    "GradientBoostingClassifier": lambda: ensemble.GradientBoostingClassifier(n_estimators=30, **SEED),
    "HistGradientBoostingClassifier": lambda: ensemble.HistGradientBoostingClassifier(max_iter=30, **SEED),
    "XGBClassifier": lambda: xgb.XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1, **SEED),
    "LGBMClassifier": lambda: lgb.LGBMClassifier(n_estimators=30, num_leaves=15, verbose=-1, n_jobs=1, **SEED),
}
REGRESSORS = {
    "DecisionTreeRegressor": lambda: tree.DecisionTreeRegressor(max_depth=8, **SEED),
    "ExtraTreeRegressor": lambda: tree.ExtraTreeRegressor(max_depth=8, **SEED),
    "RandomForestRegressor": lambda: ensemble.RandomForestRegressor(n_estimators=20, max_depth=8, **SEED),
    "ExtraTreesRegressor": lambda: ensemble.ExtraTreesRegressor(n_estimators=20, max_depth=8, **SEED),
    "GradientBoostingRegressor": lambda: ensemble.GradientBoostingRegressor(n_estimators=30, **SEED),
    "HistGradientBoostingRegressor": lambda: ensemble.HistGradientBoostingRegressor(max_iter=30, **SEED),
    "XGBRegressor": lambda: xgb.XGBRegressor(n_estimators=30, max_depth=4, n_jobs=1, **SEED),
    "LGBMRegressor": lambda: lgb.LGBMRegressor(n_estimators=30, num_leaves=15, verbose=-1, n_jobs=1, **SEED),
}
# GradientBoosting refuses NaN at fit and predict; every other model here learns a side
NO_NAN = {"GradientBoostingClassifier", "GradientBoostingRegressor"}


@pytest.mark.parametrize("data", ["binary", "multiclass"])
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier(name, data):
    X, y = _data(data)
    est = CLASSIFIERS[name]().fit(X, y)
    model = check(est, X)
    k = len(est.classes_)
    assert model["outputs"] == (1 if model["link"] == "logistic" else k)


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor(name):
    X, y = _data("regression")
    est = REGRESSORS[name]().fit(X, y)
    check(est, X)


NAN_CASES = [(n, d) for n in sorted(CLASSIFIERS) if n not in NO_NAN for d in ("binary", "multiclass")]
NAN_CASES += [(n, "regression") for n in sorted(REGRESSORS) if n not in NO_NAN]


@pytest.mark.parametrize("name,data", NAN_CASES)
def test_nan_inputs(name, data):
    """Missing values at fit and predict time reach the trees (no imputer)."""
    X, y = _data(data, nan=True)
    est = (REGRESSORS if name in REGRESSORS else CLASSIFIERS)[name]().fit(X, y)
    ex, _ = _exported(est, X.shape[1])
    assert ex.takes_nan
    check(est, X, nan_rows=True)


def test_gradient_boosting_refuses_nan():
    # takes_nan tells the packager a NaN must never reach this model
    X, y = _data("binary")
    est = ensemble.GradientBoostingClassifier(n_estimators=5, **SEED).fit(X, y)
    assert export(est, n_features=X.shape[1]).takes_nan is False
    with pytest.raises(ValueError):
        est.predict(np.full((1, X.shape[1]), np.nan))


def test_trees_fitted_without_nan_route_nan_like_sklearn():
    # a tree that never saw NaN still predicts for it (sklearn sends it to the larger child)
    X, y = _data("binary")
    est = ensemble.RandomForestClassifier(n_estimators=10, **SEED).fit(X, y)
    check(est, X, nan_rows=True)


# ---- options ------------------------------------------------------------------------

def test_gradient_boosting_exponential_loss():
    X, y = _data("binary")
    est = ensemble.GradientBoostingClassifier(loss="exponential", n_estimators=30, **SEED).fit(X, y)
    model = check(est, X)
    assert model["link_scale"] == 2.0


@pytest.mark.parametrize("loss", ["absolute_error", "huber", "quantile"])
def test_gradient_boosting_regression_losses(loss):
    X, y = _data("regression")
    check(ensemble.GradientBoostingRegressor(loss=loss, n_estimators=20, **SEED).fit(X, y), X)


def test_gradient_boosting_zero_init_and_subsample():
    X, y = _data("iris")
    est = ensemble.GradientBoostingClassifier(init="zero", subsample=0.7, n_estimators=20, **SEED).fit(X, y)
    check(est, X)


def test_gradient_boosting_early_stopping():
    X, y = _data("binary")
    est = ensemble.GradientBoostingClassifier(n_estimators=500, n_iter_no_change=3,
                                              validation_fraction=0.3, **SEED).fit(X, y)
    assert est.n_estimators_ < 500  # it did stop early
    check(est, X)


@pytest.mark.parametrize("loss", ["poisson", "gamma", "absolute_error", "quantile"])
def test_hist_gradient_boosting_losses(loss):
    X, y = _data("regression", nan=True)  # diabetes targets are positive
    kw = {"quantile": 0.3} if loss == "quantile" else {}
    est = ensemble.HistGradientBoostingRegressor(loss=loss, max_iter=30, **kw, **SEED).fit(X, y)
    model = check(est, X)
    assert model["link"] == ("exp" if loss in ("poisson", "gamma") else "identity")


def test_hist_gradient_boosting_early_stopping():
    X, y = _data("multiclass", nan=True)
    est = ensemble.HistGradientBoostingClassifier(max_iter=200, early_stopping=True,
                                                  n_iter_no_change=3, **SEED).fit(X, y)
    assert est.n_iter_ < 200
    check(est, X)


def test_hist_gradient_boosting_nan_only_splits():
    # "non-missing left, NaN right" splits have num_threshold +inf, which JSON cannot hold;
    # the exporter writes the largest finite double instead
    X, y = _data("binary", nan=True)
    est = ensemble.HistGradientBoostingClassifier(max_iter=30, **SEED).fit(X, y)
    assert any(np.isinf(p.nodes["num_threshold"]).any() for it in est._predictors for p in it)
    model = check(est, X)
    assert any(x == np.finfo(np.float64).max for t in model["trees"] for x in t["threshold"])


def test_xgboost_early_stopping_uses_best_iteration():
    X, y = _data("multiclass", nan=True)
    idx = np.random.default_rng(1).permutation(len(X))
    tr, va = idx[:120], idx[120:]
    est = xgb.XGBClassifier(n_estimators=200, learning_rate=0.3, early_stopping_rounds=3,
                            n_jobs=1, **SEED).fit(X[tr], y[tr], eval_set=[(X[va], y[va])], verbose=False)
    assert est.best_iteration + 1 < est.get_booster().num_boosted_rounds()
    model = check(est, X)
    assert len(model["trees"]) == (est.best_iteration + 1) * 3


def test_xgboost_parallel_trees_and_base_score():
    X, y = _data("binary", nan=True)
    est = xgb.XGBClassifier(n_estimators=10, num_parallel_tree=3, subsample=0.8,
                            base_score=0.3, n_jobs=1, **SEED).fit(X, y)
    check(est, X)


@pytest.mark.parametrize("data", ["binary", "multiclass", "regression"])
def test_xgboost_random_forest(data):
    X, y = _data(data, nan=True)
    cls = xgb.XGBRFRegressor if data == "regression" else xgb.XGBRFClassifier
    est = cls(n_estimators=15, max_depth=5, n_jobs=1, **SEED).fit(X, y)
    check(est, X)


def test_lightgbm_early_stopping_uses_best_iteration():
    X, y = _data("regression", nan=True)
    est = lgb.LGBMRegressor(n_estimators=500, learning_rate=0.3, verbose=-1, n_jobs=1, **SEED)
    est.fit(X[:300], y[:300], eval_X=(X[300:],), eval_y=(y[300:],),
            callbacks=[lgb.early_stopping(3, verbose=False)])
    assert est.best_iteration_ < 500
    model = check(est, X)
    assert len(model["trees"]) == est.best_iteration_


@pytest.mark.parametrize("kw", [
    {"objective": "binary", "sigmoid": 0.5},  # -> link_scale
    {"zero_as_missing": True},  # missing_type Zero
    {"use_missing": False},  # missing_type None: NaN compared as 0.0
    {"boosting_type": "rf", "bagging_fraction": 0.7, "bagging_freq": 1},  # average_output
])
def test_lightgbm_options(kw):
    X, y = _data("binary", nan=True)
    if kw.get("zero_as_missing"):
        X = X.copy()
        X[::4, 1] = 0.0  # zeros that count as missing
    est = lgb.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1, n_jobs=1, **kw, **SEED).fit(X, y)
    model = check(est, X)
    if "sigmoid" in kw:
        assert model["link_scale"] == 0.5


@pytest.mark.parametrize("objective", ["regression_l1", "huber", "quantile", "poisson", "gamma"])
def test_lightgbm_regression_objectives(objective):
    X, y = _data("regression", nan=True)
    est = lgb.LGBMRegressor(objective=objective, n_estimators=20, verbose=-1, n_jobs=1, **SEED).fit(X, y)
    check(est, X)


# ---- the probes have teeth: a wrong semantic is caught --------------------------------

def _mutated_disagreements(est, X, mutate, *, with_nan: bool) -> int:
    _, model = _exported(est, X.shape[1])
    rows = np.vstack([X, _probe_rows(model, X, with_nan=with_nan)])
    assert _disagreements(est, model, rows)[0] == 0
    wrong = copy.deepcopy(model)
    mutate(wrong)
    return _disagreements(est, wrong, rows)[0]


def test_probes_catch_a_missing_float32_cast():
    X, y = _data("regression")
    est = tree.DecisionTreeRegressor(**SEED).fit(X, y)
    assert _mutated_disagreements(est, X, lambda m: m.update(input_cast="float64"), with_nan=False) > 0


def test_probes_catch_a_rounded_threshold():
    X, y = _data("regression")
    est = tree.DecisionTreeRegressor(**SEED).fit(X, y)

    def round32(m):
        for t in m["trees"]:
            t["threshold"] = [float(np.float32(x)) for x in t["threshold"]]
    assert _mutated_disagreements(est, X, round32, with_nan=False) > 0


def test_probes_catch_le_for_lt():
    X, y = _data("regression")
    est = xgb.XGBRegressor(n_estimators=10, n_jobs=1, **SEED).fit(X, y)
    assert _mutated_disagreements(est, X, lambda m: m.update(comparison="le"), with_nan=False) > 0


def test_probes_catch_a_wrong_missing_side():
    X, y = _data("multiclass", nan=True)
    est = ensemble.HistGradientBoostingClassifier(max_iter=10, **SEED).fit(X, y)

    def flip(m):
        for t in m["trees"]:
            t["default_left"] = [1 - d for d in t["default_left"]]
    assert _mutated_disagreements(est, X, flip, with_nan=True) > 0


@pytest.mark.parametrize("kw,mode", [({}, 2), ({"zero_as_missing": True}, 0)])
def test_probes_catch_lightgbm_missing_modes(kw, mode):
    # a NaN-type model read as None (NaN compared as 0.0), a Zero-type model read as NaN
    # (zeros compared normally): both must be noticed. (A None-type model's default_left
    # already equals the side of 0.0, so that one mistake would be harmless.)
    X, y = _data("binary", nan=True)
    X = X.copy()
    X[::4, 1] = 0.0
    est = lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1, **kw, **SEED).fit(X, y)

    def remode(m):
        for t in m["trees"]:
            t["missing"] = [mode] * len(t["left"])
    assert _mutated_disagreements(est, X, remode, with_nan=True) > 0


# ---- Unsupported --------------------------------------------------------------------

def _unsupported(est, n_features: int, words: str):
    with pytest.raises(Unsupported, match=words):
        export(est, n_features=n_features)


def test_unsupported_gradient_boosting_init_estimator():
    X, y = _data("binary")
    est = ensemble.GradientBoostingClassifier(init=DummyClassifier(strategy="prior"), n_estimators=3).fit(X, y)
    _unsupported(est, X.shape[1], "init")


def test_unsupported_hist_gradient_boosting_categorical():
    X, y = _data("binary")
    X = X.copy()
    X[:, 0] = (X[:, 0] > np.median(X[:, 0])).astype(float)
    est = ensemble.HistGradientBoostingClassifier(categorical_features=[0], max_iter=5).fit(X, y)
    _unsupported(est, X.shape[1], "categorical")


@pytest.mark.parametrize("make", [
    lambda: ensemble.RandomForestRegressor(n_estimators=3, **SEED),
    lambda: tree.DecisionTreeRegressor(**SEED),
    lambda: ensemble.ExtraTreesRegressor(n_estimators=3, **SEED),
])
def test_unsupported_multi_output_regression(make):
    X, y = _data("regression")
    est = make().fit(X, np.column_stack([y, -y]))
    _unsupported(est, X.shape[1], "multi-output")


def test_unsupported_multi_output_classification():
    X, y = _data("binary")
    est = tree.DecisionTreeClassifier(**SEED).fit(X, np.column_stack([y, 1 - y]))
    _unsupported(est, X.shape[1], "multi-output")


def test_unsupported_width_mismatch():
    X, y = _data("binary")
    est = tree.DecisionTreeClassifier(max_depth=2, **SEED).fit(X, y)
    _unsupported(est, X.shape[1] + 1, "columns")


@pytest.mark.parametrize("make,words", [
    (lambda: xgb.XGBClassifier(objective="binary:logitraw", n_estimators=3), "objective"),
    (lambda: xgb.XGBRegressor(objective="count:poisson", n_estimators=3), "objective"),
    (lambda: xgb.XGBRegressor(booster="gblinear", n_estimators=3), "booster"),
    (lambda: xgb.XGBRegressor(missing=0.0, n_estimators=3), "missing"),
])
def test_unsupported_xgboost_options(make, words):
    X, y = _data("binary")
    est = make().fit(X, y)
    _unsupported(est, X.shape[1], words)


@pytest.mark.parametrize("data", ["multiclass", "regression"])
def test_xgboost_dart(data):
    # DART weighs each tree (weight_drop: beside the model before XGBoost 3.3, inside it
    # after); the weights are folded into the leaves in float32
    X, y = _data(data, nan=True)
    cls = xgb.XGBRegressor if data == "regression" else xgb.XGBClassifier
    est = cls(booster="dart", rate_drop=0.3, n_estimators=10, n_jobs=1, **SEED).fit(X, y)
    gb = json.loads(bytes(est.get_booster().save_raw(raw_format="json")))["learner"]["gradient_booster"]
    weights = gb.get("weight_drop") or gb["model"].get("weight_drop")
    assert weights and any(w != 1.0 for w in weights)  # the weights matter here
    check(est, X)


def test_unsupported_xgboost_multi_output():
    X, y = _data("regression")
    est = xgb.XGBRegressor(n_estimators=3, tree_method="hist").fit(X, np.column_stack([y, -y]))
    _unsupported(est, X.shape[1], "multi-output")


def test_unsupported_xgboost_categorical():
    import pandas as pd
    X, y = _data("binary")
    df = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    df["c"] = pd.Categorical((X[:, 2] > np.median(X[:, 2])).astype(int))
    est = xgb.XGBClassifier(n_estimators=3, enable_categorical=True, tree_method="hist",
                            max_cat_to_onehot=1).fit(df, y)
    _unsupported(est, 3, "categorical")


@pytest.mark.parametrize("make,words", [
    (lambda: lgb.LGBMClassifier(objective="multiclassova", n_estimators=3, verbose=-1), "objective"),
    (lambda: lgb.LGBMClassifier(linear_tree=True, n_estimators=3, verbose=-1), "linear_tree"),
])
def test_unsupported_lightgbm_options(make, words):
    X, y = _data("iris")
    est = make().fit(X, y)
    _unsupported(est, X.shape[1], words)


def test_unsupported_lightgbm_categorical():
    X, y = _data("binary")
    X = X.copy()
    X[:, 0] = (X[:, 0] > np.median(X[:, 0])).astype(float) + (X[:, 1] > np.median(X[:, 1]))
    est = lgb.LGBMClassifier(n_estimators=5, verbose=-1, min_data_per_group=5, cat_smooth=1)
    est.fit(X, y, categorical_feature=[0])
    _unsupported(est, X.shape[1], "categorical")


def test_unsupported_lightgbm_reg_sqrt():
    X, y = _data("regression")
    est = lgb.LGBMRegressor(reg_sqrt=True, n_estimators=3, verbose=-1).fit(X, y)
    _unsupported(est, X.shape[1], "reg_sqrt")


# ---- the tree cases, packed end to end through the CLI --------------------------------

def _tree_cases():
    sys.path.insert(0, str(HERE.parent / "cases"))
    import cases_trees

    return cases_trees.CASES


TREE_CASES = _tree_cases()


@pytest.mark.parametrize("case", TREE_CASES, ids=[c.name for c in TREE_CASES])
def test_tree_case_packs(case, tmp_path):
    """Each case of cases_trees.py through the real CLI: model.json (run by ir_eval on the
    reference's `transformed`) must give what the user's pipeline gives for the reference's
    raw `features`, within the gate's tolerances; `_nan` cases must let NaN reach the trees."""
    import pandas as pd
    from make_cases import csv
    from packing import load, pack

    model, train, hold, target = case.build()
    csv(hold, tmp_path / "hold.csv")  # as make_cases writes it
    rc, bundle = pack(tmp_path, model, pd.read_csv(tmp_path / "hold.csv"), target, baseline=train,
                      extra=["--max-reference-rows", "40"])
    assert rc == 0
    manifest, est_json, ref = load(bundle)
    final = model[-1] if hasattr(model, "steps") else model
    assert est_json["estimator"] == type(final).__name__ and est_json["kind"] == "tree_ensemble"

    rows = ref["rows"]
    names = list(model.feature_names_in_)
    feats = {f["name"]: f for f in manifest["features"]}
    frame = pd.DataFrame([{n: r["features"].get(n) for n in names} for r in rows], columns=names)
    for n in names:
        is_cat = n in feats and feats[n]["type"] == "category"
        frame[n] = frame[n].astype(object).where(frame[n].notna(), np.nan) if is_cat else frame[n].astype(float)
    X = np.array([[np.nan if v is None else v for v in r["transformed"]] for r in rows], dtype=np.float64)
    got = ir_eval.predict(est_json, X)
    if manifest["task"] == "classification":
        proba = model.predict_proba(frame)
        assert np.abs(got["probabilities"] - proba).max() <= P_TOL
        labels = [str(c) for c in model.classes_]
        assert [labels[i] for i in got["label_index"]] == [str(p) for p in model.predict(frame)]
    else:
        y = model.predict(frame)
        assert (np.abs(got["value"] - y) <= 1e-5 * np.maximum(1.0, np.abs(y))).all()
    if "_nan" in case.name or "penguins" in case.name:
        # no imputer: gappy features are optional and their NaN reaches the estimator
        assert any(not f["required"] for f in manifest["features"])
        assert np.isnan(X).any()
