"""scikit-learn tree models -> `kind: tree_ensemble` (models/README.md).

Each exporter reproduces the library's own prediction arithmetic, not just its decisions:

* `tree_` based models (DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*) cast
  their input to float32 and go left when `x <= threshold`, the threshold a float64 that
  must not be rounded; NaN follows `missing_go_to_left` per node (sklearn >= 1.3).
* A classifier tree's `predict_proba` is its leaf's `value` divided by the value's sum, so
  each leaf is stored already divided (same numpy operation, same bits). A forest averages
  them: `scale = 1 / n_estimators`.
* GradientBoosting: raw = init + learning_rate * sum of tree values; `base` is the init
  estimator's raw prediction, taken from `_raw_predict_init` (constant for the default
  DummyEstimator init and for `init="zero"`, anything else is Unsupported).
* HistGradientBoosting: float64 inputs, `x <= num_threshold`, NaN per `missing_go_to_left`,
  leaf values already include the learning rate, `base` is `_baseline_prediction`.

`tree_dict` and `finite` are shared with the XGBoost and LightGBM exporters.
"""
from __future__ import annotations

import math

import numpy as np

from . import Exported, Unsupported, model_header

# JSON has no infinity. HistGradientBoosting uses threshold +inf for "every non-missing
# value goes left" splits; the largest finite double decides the same for every finite
# input (the only inputs the API can carry).
_MAX = float(np.finfo(np.float64).max)


def finite(x: float) -> float:
    x = float(x)
    if math.isnan(x):
        raise Unsupported("a split threshold is NaN")
    if math.isinf(x):
        return _MAX if x > 0 else -_MAX
    return x


def tree_dict(*, output, feature, threshold, left, right, default_left, value,
              missing=None) -> dict:
    """One `trees[]` entry. Internal nodes' `value` and leaves' `feature`/`threshold`/
    `default_left` are never read, so they are written as 0 to keep the file small."""
    left = [int(c) for c in left]
    is_leaf = [c == -1 for c in left]
    t = {
        "output": output,
        "feature": [0 if lf else int(f) for f, lf in zip(feature, is_leaf)],
        "threshold": [0 if lf else finite(x) for x, lf in zip(threshold, is_leaf)],
        "left": left,
        "right": [-1 if lf else int(c) for c, lf in zip(right, is_leaf)],
        "default_left": [0 if lf else int(bool(d)) for d, lf in zip(default_left, is_leaf)],
    }
    if missing is not None and any(m and not lf for m, lf in zip(missing, is_leaf)):
        t["missing"] = [0 if lf else int(m) for m, lf in zip(missing, is_leaf)]
    t["value"] = [_leaf(v) if lf else 0 for v, lf in zip(value, is_leaf)]
    return t


def _leaf(v):
    if isinstance(v, (list, tuple, np.ndarray)):
        return [float(x) for x in v]
    return float(v)


def ensemble(est, *, n_features: int, outputs: int, link: str, link_scale: float = 1.0,
             input_cast: str, comparison: str, accumulate: str = "float64",
             base, scale: float, trees: list) -> dict:
    base = [float(b) for b in np.asarray(base, dtype=np.float64).reshape(-1)]
    if len(base) != outputs:
        raise Unsupported(f"{type(est).__name__}: {len(base)} base values for {outputs} outputs")
    model = model_header(est, kind="tree_ensemble", input_width=n_features, outputs=outputs,
                         link=link, link_scale=link_scale)
    model.update({
        "input_cast": input_cast,
        "comparison": comparison,
        "accumulate": accumulate,
        "base": base,
        "scale": float(scale),
        "trees": trees,
    })
    return model


def check_width(est, n_features: int) -> None:
    n = getattr(est, "n_features_in_", None)
    if n is not None and n != n_features:
        raise Unsupported(f"{type(est).__name__}: fitted on {n} columns, "
                          f"preprocessing gives {n_features}")


def _allows_nan(est) -> bool:
    try:
        return bool(est.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:
        return False


# ---- tree_ based models ---------------------------------------------------------------

def _sk_tree(tree, *, output, values) -> dict:
    t = tree.tree_
    # sklearn < 1.3 has no missing-value support: NaN is refused before the tree is reached
    mgl = getattr(t, "missing_go_to_left", None)
    if mgl is None:
        mgl = np.zeros(t.node_count, dtype=bool)
    return tree_dict(output=output, feature=t.feature, threshold=t.threshold,
                     left=t.children_left, right=t.children_right,
                     default_left=mgl, value=values)


def _single_output(est) -> None:
    if getattr(est, "n_outputs_", 1) != 1:
        raise Unsupported(f"{type(est).__name__}: multi-output ({est.n_outputs_} targets)")


def _class_values(tree) -> list:
    """Leaf probabilities exactly as DecisionTreeClassifier.predict_proba computes them."""
    v = tree.tree_.value[:, 0, :].astype(np.float64)
    s = v.sum(axis=1)[:, np.newaxis]
    s[s == 0.0] = 1.0
    return list(v / s)


def _reg_values(tree) -> list:
    return list(tree.tree_.value[:, 0, 0].astype(np.float64))


def _check_categorical_trees(est) -> None:
    # sklearn 1.9 has no categorical tree splits for these models; guard anyway
    if getattr(est, "categorical_features", None) is not None:
        raise Unsupported(f"{type(est).__name__}: categorical_features")


def _forest_like(est, n_features: int, members: list, classifier: bool) -> Exported:
    check_width(est, n_features)
    _single_output(est)
    _check_categorical_trees(est)
    if classifier:
        k = len(est.classes_)
        trees = [_sk_tree(m, output=None, values=_class_values(m)) for m in members]
        outputs = k
    else:
        trees = [_sk_tree(m, output=0, values=_reg_values(m)) for m in members]
        outputs = 1
    model = ensemble(est, n_features=n_features, outputs=outputs, link="identity",
                     input_cast="float32", comparison="le", base=[0.0] * outputs,
                     scale=1.0 / len(members), trees=trees)
    return Exported(model=model, takes_nan=_allows_nan(est))


def decision_tree_classifier(est, n_features: int) -> Exported:
    return _forest_like(est, n_features, [est], classifier=True)


def decision_tree_regressor(est, n_features: int) -> Exported:
    return _forest_like(est, n_features, [est], classifier=False)


def forest_classifier(est, n_features: int) -> Exported:
    return _forest_like(est, n_features, list(est.estimators_), classifier=True)


def forest_regressor(est, n_features: int) -> Exported:
    return _forest_like(est, n_features, list(est.estimators_), classifier=False)


# ---- GradientBoosting -----------------------------------------------------------------

def _gb_base(est, n_features: int) -> np.ndarray:
    """The init estimator's raw prediction, which must not depend on the input."""
    init = est.init
    if not (init is None or (isinstance(init, str) and init == "zero")):
        raise Unsupported(f"{type(est).__name__}: init={init!r} (only the default init or "
                          f"'zero', whose raw prediction is a constant)")
    probe = np.zeros((2, n_features), dtype=np.float64)
    probe[1] = 1.0
    raw = np.asarray(est._raw_predict_init(probe), dtype=np.float64)
    if not np.array_equal(raw[0], raw[1]):
        raise Unsupported(f"{type(est).__name__}: the init estimator's prediction is not constant")
    return raw[0]


def gradient_boosting(est, n_features: int) -> Exported:
    check_width(est, n_features)
    name = type(est).__name__
    stages = est.estimators_  # (n_stages, K) DecisionTreeRegressors
    k = stages.shape[1]
    base = _gb_base(est, n_features)
    if k != base.size:
        raise Unsupported(f"{name}: {base.size} init values for {k} trees per stage")
    link, link_scale = "identity", 1.0
    if hasattr(est, "classes_"):
        loss = est.loss
        if len(est.classes_) == 2:
            if loss == "log_loss":
                link = "logistic"
            elif loss == "exponential":
                # ExponentialLoss.predict_proba is expit(2 * raw)
                link, link_scale = "logistic", 2.0
            else:
                raise Unsupported(f"{name}: loss={loss!r}")
        else:
            if loss != "log_loss":
                raise Unsupported(f"{name}: loss={loss!r} for {len(est.classes_)} classes")
            link = "softmax"
    trees = [_sk_tree(stages[i, j], output=j, values=_reg_values(stages[i, j]))
             for i in range(stages.shape[0]) for j in range(k)]
    model = ensemble(est, n_features=n_features, outputs=k, link=link, link_scale=link_scale,
                     input_cast="float32", comparison="le", base=base,
                     scale=float(est.learning_rate), trees=trees)
    # GradientBoosting validates its input as finite: NaN never reaches the trees
    return Exported(model=model, takes_nan=_allows_nan(est))


# ---- HistGradientBoosting -------------------------------------------------------------

_HGB_REGRESSION_LINKS = {
    "squared_error": "identity",
    "absolute_error": "identity",
    "quantile": "identity",
    "poisson": "exp",
    "gamma": "exp",
}


def _hgb_tree(predictor, output: int) -> dict:
    nodes = predictor.nodes
    if nodes["is_categorical"].any():
        raise Unsupported("HistGradientBoosting: categorical splits (categorical_features)")
    leaf = nodes["is_leaf"].astype(bool)
    # node ids are uint32: widen before marking leaves with -1
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    return tree_dict(output=output, feature=nodes["feature_idx"], threshold=nodes["num_threshold"],
                     left=left, right=right, default_left=nodes["missing_go_to_left"],
                     value=nodes["value"].astype(np.float64))


def hist_gradient_boosting(est, n_features: int) -> Exported:
    check_width(est, n_features)
    name = type(est).__name__
    if getattr(est, "_preprocessor", None) is not None or (
            getattr(est, "is_categorical_", None) is not None and np.any(est.is_categorical_)):
        raise Unsupported(f"{name}: categorical_features (categorical splits)")
    loss = est.loss
    if not isinstance(loss, str):
        raise Unsupported(f"{name}: a custom loss object")
    if hasattr(est, "classes_"):
        if loss != "log_loss":
            raise Unsupported(f"{name}: loss={loss!r}")
        link = "logistic" if len(est.classes_) == 2 else "softmax"
    else:
        link = _HGB_REGRESSION_LINKS.get(loss)
        if link is None:
            raise Unsupported(f"{name}: loss={loss!r}")
    k = est.n_trees_per_iteration_
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    trees = [_hgb_tree(p, j) for it in est._predictors for j, p in enumerate(it)]
    if any(len(it) != k for it in est._predictors):
        raise Unsupported(f"{name}: iterations with other than {k} trees")
    model = ensemble(est, n_features=n_features, outputs=k, link=link, input_cast="float64",
                     comparison="le", base=base, scale=1.0, trees=trees)
    return Exported(model=model, takes_nan=True)


EXPORTERS = {
    "DecisionTreeClassifier": decision_tree_classifier,
    "DecisionTreeRegressor": decision_tree_regressor,
    "ExtraTreeClassifier": decision_tree_classifier,
    "ExtraTreeRegressor": decision_tree_regressor,
    "RandomForestClassifier": forest_classifier,
    "RandomForestRegressor": forest_regressor,
    "ExtraTreesClassifier": forest_classifier,
    "ExtraTreesRegressor": forest_regressor,
    "GradientBoostingClassifier": gradient_boosting,
    "GradientBoostingRegressor": gradient_boosting,
    "HistGradientBoostingClassifier": hist_gradient_boosting,
    "HistGradientBoostingRegressor": hist_gradient_boosting,
}
