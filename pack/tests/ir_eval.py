"""A small numpy evaluator of `mlfn-estimator` model.json (models/README.md), written from
the spec alone.

It is a test aid: pytest uses it to check the exporters against the libraries' own
predictions before (and independently of) the Rust evaluator. It is never the gate — the
component built by `host package` is. Every key of the spec is honoured (linear, mlp,
tree_ensemble with input_cast, comparison, accumulate, base, scale, scalar/vector leaves,
default_left and every `missing` mode), and unknown kinds/links are refused.
"""
from __future__ import annotations

import numpy as np

# LightGBM's kZeroThreshold (the float 1e-35f as f64), as models/README.md states it
ZERO_THRESHOLD = 1.0000000180025095e-35

_KEYS = {
    "common": {"format", "format_version", "estimator", "kind", "input_width", "outputs",
               "link", "link_scale"},
    "linear": {"coef", "intercept"},
    "mlp": {"layers", "activation"},
    "tree_ensemble": {"input_cast", "comparison", "accumulate", "base", "scale", "trees"},
}
_TREE_KEYS = {"output", "feature", "threshold", "left", "right", "default_left", "missing",
              "value"}


def raw(model: dict, X) -> np.ndarray:
    """The K raw outputs for every row of X (n × input_width, float64)."""
    if model.get("format") != "mlfn-estimator" or model.get("format_version") != 1:
        raise ValueError("not an mlfn-estimator format 1 model")
    kind = model["kind"]
    if kind not in _KEYS or kind == "common":
        raise ValueError(f"unknown kind {kind!r}")
    unknown = set(model) - _KEYS["common"] - _KEYS[kind]
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != model["input_width"]:
        raise ValueError(f"X has shape {X.shape}, input_width is {model['input_width']}")
    out = {"linear": _linear, "mlp": _mlp, "tree_ensemble": _trees}[kind](model, X)
    if out.shape != (X.shape[0], model["outputs"]):
        raise ValueError(f"raw outputs have shape {out.shape}, outputs is {model['outputs']}")
    return out


def _linear(m, X):
    coef = np.asarray(m["coef"], dtype=np.float64)
    return X @ coef.T + np.asarray(m["intercept"], dtype=np.float64)


_ACT = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "identity": lambda z: z,
}


def _mlp(m, X):
    act = _ACT[m["activation"]]
    a = X
    layers = m["layers"]
    for i, layer in enumerate(layers):
        a = a @ np.asarray(layer["weights"], dtype=np.float64) + np.asarray(layer["bias"], dtype=np.float64)
        if i + 1 < len(layers):
            a = act(a)
    return a


def _trees(m, X):
    if m["input_cast"] == "float32":
        X = X.astype(np.float32).astype(np.float64)
    elif m["input_cast"] != "float64":
        raise ValueError(f"input_cast {m['input_cast']!r}")
    if m["comparison"] not in ("le", "lt"):
        raise ValueError(f"comparison {m['comparison']!r}")
    acc_t = {"float64": np.float64, "float32": np.float32}[m["accumulate"]]
    n, k = X.shape[0], m["outputs"]
    acc = np.zeros((n, k), dtype=acc_t)
    for t in m["trees"]:
        if set(t) - _TREE_KEYS:
            raise ValueError(f"unknown tree keys {sorted(set(t) - _TREE_KEYS)}")
        leaf = _leaves(t, X, m["comparison"] == "lt")
        if t["output"] is None:
            vals = np.array([t["value"][i] for i in leaf], dtype=np.float64).reshape(n, k)
            acc += vals.astype(acc_t)  # elementwise, in acc_t (f32 + f32 -> f32)
        else:
            vals = np.array([t["value"][i] for i in leaf], dtype=np.float64)
            acc[:, t["output"]] += vals.astype(acc_t)
    base = np.asarray(m["base"], dtype=np.float64)
    return base + float(m["scale"]) * acc.astype(np.float64)


def _leaves(t, X, lt: bool) -> np.ndarray:
    """The leaf index every row reaches, all rows walked together level by level."""
    feature = np.asarray(t["feature"], dtype=np.int64)
    threshold = np.asarray(t["threshold"], dtype=np.float64)
    left = np.asarray(t["left"], dtype=np.int64)
    right = np.asarray(t["right"], dtype=np.int64)
    dleft = np.asarray(t["default_left"], dtype=bool)
    missing = np.asarray(t.get("missing", [0] * len(left)), dtype=np.int64)
    node = np.zeros(X.shape[0], dtype=np.int64)
    rows = np.arange(X.shape[0])
    for _ in range(len(left) + 1):
        active = left[node] != -1
        if not active.any():
            return node
        r, nd = rows[active], node[active]
        x = X[r, feature[nd]].copy()
        mode = missing[nd]
        x[(mode == 2) & np.isnan(x)] = 0.0
        default = np.isnan(x) | ((mode == 1) & (np.abs(x) <= ZERO_THRESHOLD))
        with np.errstate(invalid="ignore"):
            cmp = x < threshold[nd] if lt else x <= threshold[nd]
        go_left = np.where(default, dleft[nd], cmp)
        node[r] = np.where(go_left, left[nd], right[nd])
    raise ValueError("a tree has a cycle")


def predict(model: dict, X) -> dict:
    """{"raw", and "probabilities" + "label_index" (classification) or "value"}."""
    z = raw(model, X)
    link, s = model["link"], float(model.get("link_scale", 1.0))
    k = model["outputs"]
    if link == "identity" and k == 1:
        return {"raw": z, "value": z[:, 0]}
    if link == "exp":
        return {"raw": z, "value": np.exp(z[:, 0])}
    if link == "identity":
        p = z
    elif link == "logistic":
        if k != 1:
            raise ValueError("logistic link with more than one output")
        p1 = 1.0 / (1.0 + np.exp(-s * z[:, 0]))
        p = np.column_stack([1.0 - p1, p1])
    elif link == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
    elif link == "ovr_logistic":
        e = 1.0 / (1.0 + np.exp(-z))
        p = e / e.sum(axis=1, keepdims=True)
    else:
        raise ValueError(f"unknown link {link!r}")
    return {"raw": z, "probabilities": p, "label_index": np.argmax(p, axis=1)}
