"""XGBoost (sklearn API) -> `kind: tree_ensemble`, read from the booster's own JSON model
(`save_raw("json")`), reproducing XGBoost's CPU predictor:

* inputs are float32 and a node goes left when `x < split_condition` (a float32), NaN
  follows `default_left`;
* leaf values (a leaf's `split_conditions` entry, the learning rate already applied) are
  float32 and summed in float32 (`accumulate: float32`);
* the sum starts at the base margin: `base_score` from `learner_model_param`, which
  XGBoost 3.x writes as a vector in the *output* space (`"[6.274165E-1]"`) and turns into
  a margin with the objective's ProbToMargin: logit for binary:logistic (in float32),
  identity for reg:squarederror and multi:softprob (whose intercepts are margins already);
* `tree_info` gives each tree's output (class); `num_parallel_tree` trees per class per
  round just add up; early stopping's `best_iteration` limits the rounds as the sklearn
  API's predict does;
* DART (`booster="dart"`, or gbtree with `rate_drop` from XGBoost 3.3) multiplies each
  tree's output by its `weight_drop` in float32: folded into the leaf values.

JSON numbers are the shortest decimal of a float32; each is rounded back to float32 here
so the f64 written is exactly the value XGBoost compares with / adds.
"""
from __future__ import annotations

import json
import math

import numpy as np

from . import Exported, Unsupported
from .trees import check_width, ensemble, tree_dict

# objective -> (link, classification?)
_OBJECTIVES = {
    "binary:logistic": ("logistic", True),
    "multi:softprob": ("softmax", True),
    "reg:squarederror": ("identity", False),
}


def _f32(x) -> float:
    return float(np.float32(x))


def _base_margin(objective: str, base_score: str, k: int) -> list[float]:
    vals = [np.float32(float(s)) for s in str(base_score).strip("[]").split(",") if s.strip()]
    if len(vals) == 1 and k > 1:
        vals = vals * k
    if len(vals) != k:
        raise Unsupported(f"XGBoost: base_score {base_score!r} for {k} outputs")
    if objective == "binary:logistic":
        one = np.float32(1.0)
        # ProbToMargin of the logistic objective, in float32 as XGBoost computes it
        with np.errstate(divide="ignore"):
            vals = [-np.log(one / v - one) for v in vals]
    out = [float(np.float32(v)) for v in vals]
    if not all(math.isfinite(v) for v in out):
        raise Unsupported(f"XGBoost: base_score {base_score!r} has no finite margin")
    return out


def _tree(t: dict, output: int, weight: float = 1.0) -> dict:
    param = t.get("tree_param", {})
    if int(param.get("size_leaf_vector", "1")) > 1:
        raise Unsupported("XGBoost: vector leaves (multi_strategy='multi_output_tree')")
    if any(int(s) != 0 for s in t.get("split_type", [])):
        raise Unsupported("XGBoost: categorical splits (enable_categorical)")
    cond = [_f32(c) for c in t["split_conditions"]]
    left = t["left_children"]
    # dropout (DART) scales each tree's output by its weight, in float32
    value = cond if weight == 1.0 else [_f32(np.float32(c) * np.float32(weight)) for c in cond]
    return tree_dict(output=output, feature=t["split_indices"], threshold=cond, left=left,
                     right=t["right_children"], default_left=t["default_left"], value=value)


def _export(est, n_features: int) -> Exported:
    name = type(est).__name__
    check_width(est, n_features)
    missing = est.get_params().get("missing", np.nan)
    if missing is not None and not (isinstance(missing, float) and math.isnan(missing)):
        raise Unsupported(f"{name}: missing={missing!r} (only NaN marks a missing value)")
    booster = est.get_booster()
    learner = json.loads(bytes(booster.save_raw(raw_format="json")))["learner"]
    objective = learner["objective"]["name"]
    if objective not in _OBJECTIVES:
        raise Unsupported(f"{name}: objective={objective!r}")
    link, is_clf = _OBJECTIVES[objective]
    if is_clf != hasattr(est, "classes_"):
        raise Unsupported(f"{name}: objective={objective!r}")
    gb = learner["gradient_booster"]
    if gb["name"] == "dart":  # XGBoost < 3.3: tree weights beside the gbtree model
        weights = gb.get("weight_drop")
        gb = dict(gb["gbtree"], model=dict(gb["gbtree"]["model"], weight_drop=weights))
    if gb["name"] not in ("gbtree", "dart"):
        raise Unsupported(f"{name}: booster={gb['name']!r} (only gbtree, dart)")
    params = learner["learner_model_param"]
    if int(params.get("num_target", "1")) > 1:
        raise Unsupported(f"{name}: multi-output regression ({params['num_target']} targets)")
    n_class = int(params.get("num_class", "0"))
    k = n_class if objective == "multi:softprob" else 1
    if is_clf and k == 1 and len(est.classes_) != 2:
        raise Unsupported(f"{name}: {len(est.classes_)} classes with {objective}")
    if is_clf and k > 1 and len(est.classes_) != k:
        raise Unsupported(f"{name}: num_class {k} but {len(est.classes_)} classes")

    model = gb["model"]
    trees, info = model["trees"], model["tree_info"]
    # the sklearn API predicts with iteration_range (0, best_iteration + 1) after early
    # stopping, else with every round; iteration_indptr gives each round's first tree
    indptr = model.get("iteration_indptr")
    best = getattr(est, "best_iteration", None) if _has_best(est) else None
    if indptr is None:
        per_round = int(model["gbtree_model_param"].get("num_parallel_tree", "1")) * k
        indptr = list(range(0, len(trees) + 1, per_round))
    n_trees = indptr[best + 1] if best is not None else indptr[-1]
    weights = model.get("weight_drop") or [1.0] * len(trees)
    out = [_tree(trees[i], int(info[i]), float(weights[i])) for i in range(n_trees)]
    m = ensemble(est, n_features=n_features, outputs=k, link=link, input_cast="float32",
                 comparison="lt", accumulate="float32",
                 base=_base_margin(objective, params["base_score"], k), scale=1.0, trees=out)
    return Exported(model=m, takes_nan=True)


def _has_best(est) -> bool:
    try:
        est.best_iteration  # raises AttributeError without early stopping
        return True
    except AttributeError:
        return False


EXPORTERS = {
    "XGBClassifier": _export,
    "XGBRegressor": _export,
    # random forests: one round of num_parallel_tree trees, same model JSON
    "XGBRFClassifier": _export,
    "XGBRFRegressor": _export,
}
