"""Linear estimators -> `kind: linear` (raw_k = x . coef[k] + intercept[k]).

The link mirrors each estimator's own predict_proba: binary LogisticRegression and
SGDClassifier use expit of the single decision value; multiclass LogisticRegression uses
softmax (sklearn >= 1.5 default; `multi_class="ovr"` in older releases normalises expits);
multiclass SGDClassifier(log_loss) is one-vs-rest: expit per class, divided by the sum.
"""
from __future__ import annotations

import numpy as np

from . import Exported, Unsupported, model_header


def _check_width(est, n_features: int) -> None:
    if est.n_features_in_ != n_features:
        raise Unsupported(f"{type(est).__name__}: fitted on {est.n_features_in_} columns, "
                          f"preprocessing gives {n_features}")


def _linear(est, n_features: int, link: str, coef, intercept) -> Exported:
    coef = np.asarray(coef, dtype=np.float64).reshape(-1, n_features)
    intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
    if intercept.size == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    model = model_header(est, kind="linear", input_width=n_features, outputs=coef.shape[0], link=link)
    model["coef"] = coef.tolist()
    model["intercept"] = intercept.tolist()
    return Exported(model=model, takes_nan=False)


def _classifier(est, n_features: int, multiclass_link: str) -> Exported:
    _check_width(est, n_features)
    k = len(est.classes_)
    if k == 2:
        return _linear(est, n_features, "logistic", est.coef_, est.intercept_)
    return _linear(est, n_features, multiclass_link, est.coef_, est.intercept_)


def logistic_regression(est, n_features: int) -> Exported:
    mc = getattr(est, "multi_class", "deprecated")
    ovr = mc == "ovr" or (mc == "auto" and est.solver == "liblinear")
    return _classifier(est, n_features, "ovr_logistic" if ovr else "softmax")


def sgd_classifier(est, n_features: int) -> Exported:
    if est.loss != "log_loss":
        raise Unsupported(f"{type(est).__name__}: loss={est.loss!r} (only log_loss gives probabilities)")
    return _classifier(est, n_features, "ovr_logistic")


def regressor(est, n_features: int) -> Exported:
    _check_width(est, n_features)
    coef = np.asarray(est.coef_)
    if coef.ndim == 2 and coef.shape[0] != 1:
        raise Unsupported(f"{type(est).__name__}: multi-output regression ({coef.shape[0]} targets)")
    return _linear(est, n_features, "identity", coef.reshape(1, -1), np.asarray(est.intercept_).reshape(-1)[:1])


EXPORTERS = {
    "LogisticRegression": logistic_regression,
    "SGDClassifier": sgd_classifier,
    "LinearRegression": regressor,
    "Ridge": regressor,
    "Lasso": regressor,
    "ElasticNet": regressor,
    "SGDRegressor": regressor,
}
