"""The pipeline's own outputs (the oracle), metrics and the prediction baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .baseline import categorical_baseline, numeric_baseline


def predict(model, X: pd.DataFrame, classification: bool):
    """(labels as strings, probabilities or None, values or None) from the user's pipeline."""
    pred = model.predict(X)
    if classification:
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        return [str(p) for p in pred], proba, None
    return None, None, np.asarray(pred, dtype=np.float64).reshape(-1)


def _roc_auc(y: np.ndarray, proba: np.ndarray, labels: list[str]):
    from sklearn.metrics import roc_auc_score

    # one-vs-rest macro (binary: the positive class), computed per class so that the
    # probability columns stay in classes_ order whatever the string sort order is
    cols = [1] if len(labels) == 2 else range(len(labels))
    scores = []
    for k in cols:
        truth = y == labels[k]
        if truth.all() or not truth.any():
            return None  # undefined when a class is absent
        scores.append(float(roc_auc_score(truth, proba[:, k])))
    return float(np.mean(scores))


def metrics(model, X: pd.DataFrame, y: pd.Series, labels: list[str], data_name: str) -> dict:
    classification = bool(labels)
    out = {"rows": int(len(X)), "data": data_name}
    if classification:
        ys = np.array(y, dtype=object)  # already strings, as labels
        pred, proba, _ = predict(model, X, True)
        pred = np.array(pred, dtype=object)
        out["accuracy"] = float((pred == ys).mean())
        out["roc_auc"] = _roc_auc(ys, proba, labels)
        idx = np.array([labels.index(v) if v in labels else -1 for v in ys])
        if (idx < 0).any():
            out["log_loss"] = None  # a label the model never saw
        else:
            eps = np.finfo(np.float64).eps
            p = np.clip(proba[np.arange(len(idx)), idx], eps, 1.0)
            out["log_loss"] = float(-np.log(p).mean())
    else:
        from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

        _, _, value = predict(model, X, False)
        yt = y.to_numpy(dtype=float)
        out["rmse"] = float(np.sqrt(mean_squared_error(yt, value)))
        out["mae"] = float(mean_absolute_error(yt, value))
        out["r2"] = float(r2_score(yt, value))
    return out


def label_strings(y: pd.Series, classes) -> list[str]:
    """The target as label strings: cast to classes_' dtype first so that a CSV integer
    read back as float (1.0) names the same class as classes_ 1 (str gives "1")."""
    classes = np.asarray(classes)
    vals = y.to_numpy()
    if np.issubdtype(classes.dtype, np.number) or classes.dtype == bool:
        vals = vals.astype(classes.dtype)
    return [str(v) for v in vals]


def prediction_baseline(model, X: pd.DataFrame, labels: list[str]) -> dict:
    if labels:
        pred, proba, _ = predict(model, X, True)
        return {"label": categorical_baseline(pd.Series(pred, dtype=object), labels),
                "confidence": numeric_baseline(proba.max(axis=1))}
    _, _, value = predict(model, X, False)
    return {"value": numeric_baseline(value)}
