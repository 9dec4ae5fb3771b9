"""LightGBM (sklearn API) -> `kind: tree_ensemble`, read from `booster_.dump_model()`,
reproducing LightGBM's `Tree::NumericalDecision`:

* inputs stay float64 and a node goes left when `x <= threshold` (`decision_type "<="`);
* `missing_type` per node: "NaN" -> NaN takes the `default_left` side (`missing` 0);
  "Zero" -> NaN and |x| <= kZeroThreshold take it (`missing` 1); "None" -> NaN is compared
  as 0.0 (`missing` 2);
* leaf values include the shrinkage and, for the first trees, boost_from_average's init
  score, so `base` is 0; tree i adds to output `i % num_tree_per_iteration`; a random
  forest (`average_output`) divides the sum by the number of iterations (`scale`);
* the binary objective's `sigmoid:X` parameter becomes `link_scale`.

LightGBM reads a dense row as a sparse one: a value with |x| <= kZeroThreshold (the float
1e-35f) is dropped and becomes exactly 0.0 before any node sees it. LightGBM puts thresholds
at +-kZeroThreshold, so for such inputs `x <= threshold` and `0.0 <= threshold` differ; a
threshold in [-kZeroThreshold, kZeroThreshold) is therefore replaced by the one that
decides every input (and NaN compared as 0.0) the same way with the raw value (`_threshold`).

`dump_model()` without arguments dumps the iterations `predict` uses (best_iteration after
early stopping), with thresholds and leaf values printed with 17 significant digits.
"""
from __future__ import annotations

import numpy as np

from . import Exported, Unsupported
from .trees import check_width, ensemble, tree_dict

# LightGBM's kZeroThreshold: `const double kZeroThreshold = 1e-35f;`
ZERO = float(np.float32(1e-35))

_MISSING = {"NaN": 0, "Zero": 1, "None": 2}
_IDENTITY_REGRESSION = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}
_EXP_REGRESSION = {"poisson", "gamma", "tweedie"}


def _flatten(root: dict, name: str) -> dict:
    """The nested dump -> node arrays in preorder (children after their parent)."""
    feature, threshold, left, right, dleft, missing, value = [], [], [], [], [], [], []

    def visit(node: dict) -> int:
        i = len(left)
        for arr in (feature, threshold, left, right, dleft, missing, value):
            arr.append(0)
        if "split_index" not in node:  # a leaf (a single-leaf tree has only leaf_value)
            if "leaf_coeff" in node:
                raise Unsupported(f"{name}: linear_tree")
            left[i], right[i], value[i] = -1, -1, node["leaf_value"]
            return i
        if node["decision_type"] != "<=":
            raise Unsupported(f"{name}: categorical splits (categorical_feature)")
        mt = node.get("missing_type", "None")
        if mt not in _MISSING:
            raise Unsupported(f"{name}: missing_type {mt!r}")
        feature[i], threshold[i] = node["split_feature"], _threshold(float(node["threshold"]))
        dleft[i], missing[i] = bool(node["default_left"]), _MISSING[mt]
        left[i] = visit(node["left_child"])
        right[i] = visit(node["right_child"])
        return i

    visit(root)
    return dict(feature=feature, threshold=threshold, left=left, right=right,
                default_left=dleft, missing=missing, value=value)


def _threshold(t: float) -> float:
    """A threshold deciding raw inputs as LightGBM decides them after zeroing |x| <= ZERO:
    left iff g(x) <= t, g(x) = 0 for |x| <= ZERO else x. For t >= ZERO or t < -ZERO that is
    x <= t already; for -ZERO <= t < 0 it is x < -ZERO; for 0 <= t < ZERO it is x <= ZERO."""
    if -ZERO <= t < 0.0:
        return float(np.nextafter(-ZERO, -np.inf))
    if 0.0 <= t < ZERO:
        return ZERO
    return t


def _link(objective: str, name: str, is_clf: bool, n_classes: int) -> tuple[str, float, int]:
    """(link, link_scale, outputs) from the dump's objective string."""
    parts = objective.split()
    head, opts = parts[0], dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    flags = {p for p in parts[1:] if ":" not in p}
    if is_clf:
        if head == "binary" and n_classes == 2:
            return "logistic", float(opts.get("sigmoid", 1.0)), 1
        if head == "multiclass" and int(opts.get("num_class", 0)) == n_classes:
            return "softmax", 1.0, n_classes
        raise Unsupported(f"{name}: objective {objective!r}")
    if flags & {"sqrt"}:
        raise Unsupported(f"{name}: reg_sqrt")
    if head in _IDENTITY_REGRESSION:
        return "identity", 1.0, 1
    if head in _EXP_REGRESSION:
        return "exp", 1.0, 1
    raise Unsupported(f"{name}: objective {objective!r}")


def _export(est, n_features: int) -> Exported:
    name = type(est).__name__
    check_width(est, n_features)
    dump = est.booster_.dump_model()
    is_clf = hasattr(est, "classes_")
    n_classes = len(est.classes_) if is_clf else 0
    link, link_scale, k = _link(dump["objective"], name, is_clf, n_classes)
    per_iter = int(dump["num_tree_per_iteration"])
    if per_iter != k:
        raise Unsupported(f"{name}: {per_iter} trees per iteration for {k} outputs")
    if dump.get("max_feature_idx", n_features - 1) + 1 != n_features:
        raise Unsupported(f"{name}: fitted on {dump['max_feature_idx'] + 1} columns, "
                          f"preprocessing gives {n_features}")
    infos = dump["tree_info"]
    trees = [tree_dict(output=int(t["tree_index"]) % k, **_flatten(t["tree_structure"], name))
             for t in infos]
    scale = 1.0
    if dump.get("average_output"):
        # boosting="rf": the prediction is the sum divided by the number of iterations
        scale = 1.0 / (len(infos) // k)
    m = ensemble(est, n_features=n_features, outputs=k, link=link, link_scale=link_scale,
                 input_cast="float64", comparison="le", base=[0.0] * k, scale=scale,
                 trees=trees)
    return Exported(model=m, takes_nan=True)


EXPORTERS = {
    "LGBMClassifier": _export,
    "LGBMRegressor": _export,
}
